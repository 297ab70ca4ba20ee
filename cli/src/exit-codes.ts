// Exit codes of the inspection commands, documented in docs/cli.md. Stable:
// scripts branch on them.
export const EXIT = {
  ok: 0,
  /** The cluster, the control plane or a proxy could not be read (unreachable, RBAC refused, bad answer). */
  error: 1,
  /** Bad flags or arguments. */
  usage: 2,
  /** The named pod or Deployment does not exist, or has no running pod. */
  notFound: 3,
  /** proxy-status: read fine, but some proxy has not ACKed its group's current version or is not connected. */
  notInSync: 4,
  /** authz check: read fine, and some pod behind the Service refuses the request. */
  refused: 5,
} as const;

export class UsageError extends Error {}
