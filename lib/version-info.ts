// The version this process runs, in the shape of the API's VersionInfo: the API server answers
// `Version` with it and `persys version` prints it for the client side.
import { API_VERSION } from './api/kinds.js';
import type { VersionInfo } from './gen/persys/v1/api.js';
import { packageVersion } from './package-files.js';

export function localVersionInfo(): VersionInfo {
  return { version: packageVersion(), nodeVersion: process.version, platform: `${process.platform}/${process.arch}`, apiVersion: API_VERSION };
}
