// Original file: discovery.proto

import type { ServicePort as _weft_discovery_v1_ServicePort, ServicePort__Output as _weft_discovery_v1_ServicePort__Output } from '../../../weft/discovery/v1/ServicePort.ts';
import type { Endpoint as _weft_discovery_v1_Endpoint, Endpoint__Output as _weft_discovery_v1_Endpoint__Output } from '../../../weft/discovery/v1/Endpoint.ts';
import type { ClientPolicy as _weft_discovery_v1_ClientPolicy, ClientPolicy__Output as _weft_discovery_v1_ClientPolicy__Output } from '../../../weft/discovery/v1/ClientPolicy.ts';

export interface Service {
  'namespace'?: (string);
  'name'?: (string);
  'clusterIps'?: (string)[];
  'headless'?: (boolean);
  'ports'?: (_weft_discovery_v1_ServicePort)[];
  'endpoints'?: (_weft_discovery_v1_Endpoint)[];
  'clientPolicy'?: (_weft_discovery_v1_ClientPolicy | null);
}

export interface Service__Output {
  'namespace': (string);
  'name': (string);
  'clusterIps': (string)[];
  'headless': (boolean);
  'ports': (_weft_discovery_v1_ServicePort__Output)[];
  'endpoints': (_weft_discovery_v1_Endpoint__Output)[];
  'clientPolicy': (_weft_discovery_v1_ClientPolicy__Output | null);
}
