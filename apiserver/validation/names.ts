// Name formats borrowed from Kubernetes and Docker. Each check returns why a value is not a
// valid name, or undefined when it is, so callers can attach the reason to a field path.

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const QUALIFIED_NAME_PART = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const ENV_VAR_NAME = /^[-._a-zA-Z][-._a-zA-Z0-9]*$/;
const DOCKER_VOLUME_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;
const SECRET_KEY = /^[-._a-zA-Z0-9]+$/;

export function dns1123LabelError(v: string): string | undefined {
  if (v.length > 63) return 'must be no more than 63 characters';
  if (!DNS1123_LABEL.test(v)) {
    return "must be a DNS-1123 label: lowercase letters, digits and '-', starting and ending with a letter or digit";
  }
  return undefined;
}

export function dns1123SubdomainError(v: string): string | undefined {
  if (v.length > 253) return 'must be no more than 253 characters';
  if (!DNS1123_SUBDOMAIN.test(v)) {
    return "must be a DNS-1123 subdomain: lowercase letters, digits, '-' and '.', starting and ending with a letter or digit";
  }
  return undefined;
}

/** A label or annotation key: an optional DNS subdomain prefix and "/", then a name of up to 63 characters. */
export function qualifiedNameError(v: string): string | undefined {
  const slash = v.indexOf('/');
  const [prefix, name] = slash >= 0 ? [v.slice(0, slash), v.slice(slash + 1)] : [undefined, v];
  if (prefix !== undefined) {
    if (prefix === '') return 'prefix part must not be empty';
    const e = dns1123SubdomainError(prefix);
    if (e) return `prefix part ${e}`;
  }
  if (name === '') return 'name part must not be empty';
  if (name.length > 63) return 'name part must be no more than 63 characters';
  if (!QUALIFIED_NAME_PART.test(name)) {
    return "name part must consist of letters, digits, '-', '_' or '.', starting and ending with a letter or digit";
  }
  return undefined;
}

export function labelValueError(v: string): string | undefined {
  if (v === '') return undefined;
  if (v.length > 63) return 'must be no more than 63 characters';
  if (!QUALIFIED_NAME_PART.test(v)) {
    return "must consist of letters, digits, '-', '_' or '.', starting and ending with a letter or digit";
  }
  return undefined;
}

/** A port name (IANA service name): at most 15 lowercase letters, digits and '-', with at least one letter. */
export function portNameError(v: string): string | undefined {
  if (v.length > 15) return 'must be no more than 15 characters';
  if (!/^[-a-z0-9]+$/.test(v)) return "must contain only lowercase letters, digits and '-'";
  if (!/[a-z]/.test(v)) return 'must contain at least one letter';
  if (v.startsWith('-') || v.endsWith('-')) return "must not begin or end with '-'";
  if (v.includes('--')) return "must not contain '--'";
  return undefined;
}

export function envVarNameError(v: string): string | undefined {
  if (!ENV_VAR_NAME.test(v)) {
    return "must consist of letters, digits, '_', '-' or '.', and must not start with a digit";
  }
  return undefined;
}

export function dockerVolumeNameError(v: string): string | undefined {
  if (!DOCKER_VOLUME_NAME.test(v)) {
    return "must be a Docker volume name: at least 2 letters, digits, '_', '.' or '-', starting with a letter or digit";
  }
  return undefined;
}

/**
 * A key of a Secret or ConfigMap, which may become a file name in a mounted volume: never "." or "..",
 * which would name the mount directory or its parent.
 */
export function configKeyError(v: string): string | undefined {
  if (v.length > 253) return 'must be no more than 253 characters';
  if (!SECRET_KEY.test(v)) return "must consist of letters, digits, '-', '_' or '.'";
  if (v === '.' || v === '..') return 'must not be "." or ".." (keys are file names)';
  return undefined;
}
