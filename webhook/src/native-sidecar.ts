// Native sidecars (init containers with restartPolicy Always) are on by default
// from Kubernetes 1.29. `nativeSidecar: auto` is resolved once at start from the
// apiserver's version; an unknown version counts as new enough.
import type { InjectorConfig } from "./injector-config.ts";

export interface ServerVersion {
  major: string;
  minor: string;
}

export function supportsNativeSidecars(version: ServerVersion | undefined): boolean {
  if (!version) return true;
  const major = Number.parseInt(version.major, 10);
  // Managed clusters report minors such as "29+".
  const minor = Number.parseInt(version.minor, 10);
  if (!Number.isFinite(major) || !Number.isFinite(minor)) return true;
  return major > 1 || minor >= 29;
}

export function resolveNativeSidecar(config: InjectorConfig, version: ServerVersion | undefined): InjectorConfig {
  if (config.nativeSidecar !== "auto") return config;
  return { ...config, nativeSidecar: supportsNativeSidecars(version) ? "on" : "off" };
}
