// Where a client connects when nothing says otherwise. Apart from config.ts, which loads the YAML
// parser, so that the CLI's flag table (and `persys --help`) can show it cheaply.
export const DEFAULT_SERVER = '127.0.0.1:7443';
