// Splits a compose `command:`/`entrypoint:` string into argv the way Compose does (go-shellwords):
// quotes and backslashes are honoured, nothing is expanded and no shell ever runs.

export class ShellWordsError extends Error {
  override readonly name = 'ShellWordsError';
}

export function splitShellWords(line: string): string[] {
  const words: string[] = [];
  let word = '';
  // A quoted empty string ('') is still a word, so track "started" apart from the text.
  let started = false;
  let quote: "'" | '"' | undefined;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quote === "'") {
      if (c === "'") quote = undefined;
      else word += c;
    } else if (quote === '"') {
      if (c === '"') quote = undefined;
      else if (c === '\\' && i + 1 < line.length && '"\\$`'.includes(line[i + 1]!)) word += line[++i];
      else word += c;
    } else if (c === "'" || c === '"') {
      quote = c;
      started = true;
    } else if (c === '\\') {
      if (i + 1 < line.length) word += line[++i];
      started = true;
    } else if (/\s/.test(c)) {
      if (started) words.push(word);
      word = '';
      started = false;
    } else {
      word += c;
      started = true;
    }
  }
  if (quote) throw new ShellWordsError(`unterminated ${quote === '"' ? 'double' : 'single'} quote in ${JSON.stringify(line)}`);
  if (started) words.push(word);
  return words;
}
