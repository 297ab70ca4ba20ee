// Which of a rule's RequestMirror filters copy this request: each mirrors
// its percent of requests, drawn from the injected random source. Pure; the
// outbound shell sends the copies and discards their answers.
import type { RequestMirror__Output } from "../../../api/gen/weft/discovery/v1/RequestMirror.ts";

const NONE: readonly RequestMirror__Output[] = [];

export function mirrorsFor(mirrors: readonly RequestMirror__Output[], random: () => number): readonly RequestMirror__Output[] {
  if (mirrors.length === 0) return NONE;
  let out: RequestMirror__Output[] | undefined;
  for (const m of mirrors) {
    // An unset percent arrives as 0 from a proto default; the control plane sends 100 for "unset", so 0 is 0.
    if (m.percent >= 100 || random() * 100 < m.percent) (out ??= []).push(m);
  }
  return out ?? NONE;
}
