// AdmissionReview in and out, without I/O. The apiserver sends admission.k8s.io/v1
// reviews; anything else that still has a request uid is answered with an
// allowing review without a patch (a webhook must never block pods over input
// it does not understand), and what is not a review at all gets an HTTP 400.
import type { V1Pod } from "@kubernetes/client-node";
import type { Operation } from "fast-json-patch";
import { fail, ok, type Result } from "../../lib/result.ts";
import type { DecisionCode } from "./inject-decision.ts";

export const ADMISSION_API_VERSION = "admission.k8s.io/v1";

/** Decisions about the request itself, before the injector sees a pod. */
export type AdmissionCode = "not-admission-review" | "unsupported-api-version" | "not-a-pod-create" | "invalid-pod" | "namespace-lookup-failed" | "injection-failed";

export type OutcomeCode = DecisionCode | AdmissionCode;

/** A request the injector can decide on. */
export interface PodAdmission {
  uid: string;
  namespace: string;
  pod: V1Pod;
}

/** A review we answer without injecting (its uid and apiVersion echoed back). */
export interface Passthrough {
  uid: string;
  apiVersion: string;
  code: AdmissionCode;
  message: string;
}

export type Classified = { kind: "pod"; admission: PodAdmission } | { kind: "passthrough"; passthrough: Passthrough };

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

/** The webhook's invalid-pod rule; `weft inject` applies it to pods and pod templates too. */
export function validPod(v: unknown): v is V1Pod {
  if (!isObj(v) || !isObj(v.spec) || !Array.isArray(v.spec.containers) || v.spec.containers.length === 0) return false;
  if (!v.spec.containers.every((c) => isObj(c) && typeof c.name === "string")) return false;
  if (v.spec.initContainers !== undefined && (!Array.isArray(v.spec.initContainers) || !v.spec.initContainers.every((c) => isObj(c) && typeof c.name === "string"))) return false;
  if (v.spec.volumes !== undefined && !Array.isArray(v.spec.volumes)) return false;
  if (v.metadata !== undefined && !isObj(v.metadata)) return false;
  const meta = isObj(v.metadata) ? v.metadata : {};
  const stringMap = (m: unknown) => m === undefined || (isObj(m) && Object.values(m).every((x) => typeof x === "string"));
  return stringMap(meta.labels) && stringMap(meta.annotations);
}

/** Sorts a decoded request body into: not a review (400), a passthrough, or a pod to decide on. */
export function classifyReview(body: unknown): Result<Classified, "not-admission-review"> {
  if (!isObj(body) || body.kind !== "AdmissionReview" || !isObj(body.request) || typeof body.request.uid !== "string" || body.request.uid === "") {
    return fail("not-admission-review", "the body is not an AdmissionReview with a request uid");
  }
  const req = body.request;
  const uid = req.uid as string;
  const apiVersion = typeof body.apiVersion === "string" ? body.apiVersion : ADMISSION_API_VERSION;
  const pass = (code: AdmissionCode, message: string): Result<Classified, never> => ok({ kind: "passthrough", passthrough: { uid, apiVersion, code, message } });
  if (apiVersion !== ADMISSION_API_VERSION) return pass("unsupported-api-version", `apiVersion ${apiVersion} is not ${ADMISSION_API_VERSION}`);
  const kind = isObj(req.kind) ? req.kind : {};
  const resource = isObj(req.resource) ? req.resource : {};
  if (kind.kind !== "Pod" || resource.resource !== "pods" || req.operation !== "CREATE" || (req.subResource !== undefined && req.subResource !== "")) {
    return pass("not-a-pod-create", `only pod CREATE is injected, not ${String(req.operation)} of ${String(kind.kind)}`);
  }
  if (!validPod(req.object)) return pass("invalid-pod", "request.object is not a pod with containers");
  const namespace = typeof req.namespace === "string" && req.namespace ? req.namespace : req.object.metadata?.namespace;
  if (!namespace) return pass("invalid-pod", "the request names no namespace");
  return ok({ kind: "pod", admission: { uid, namespace, pod: req.object } });
}

export interface ReviewAnswer {
  uid: string;
  apiVersion?: string;
  code: OutcomeCode;
  message: string;
  patch?: Operation[];
  warnings?: string[];
}

/** The AdmissionReview sent back: always allowed; a patch only when injecting. */
export function admissionReviewResponse(answer: ReviewAnswer): Obj {
  const response: Obj = {
    uid: answer.uid,
    allowed: true,
    status: { code: 200, message: `weft: ${answer.code}: ${answer.message}` },
    auditAnnotations: { decision: answer.code },
  };
  if (answer.patch && answer.patch.length > 0) {
    response.patchType = "JSONPatch";
    response.patch = Buffer.from(JSON.stringify(answer.patch)).toString("base64");
  }
  if (answer.warnings && answer.warnings.length > 0) response.warnings = answer.warnings;
  return { apiVersion: answer.apiVersion ?? ADMISSION_API_VERSION, kind: "AdmissionReview", response };
}
