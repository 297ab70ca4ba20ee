// Original file: discovery.proto

import type { Service as _weft_discovery_v1_Service, Service__Output as _weft_discovery_v1_Service__Output } from '../../../weft/discovery/v1/Service.ts';
import type { ProxyPolicy as _weft_discovery_v1_ProxyPolicy, ProxyPolicy__Output as _weft_discovery_v1_ProxyPolicy__Output } from '../../../weft/discovery/v1/ProxyPolicy.ts';
import type { ServiceRoutes as _weft_discovery_v1_ServiceRoutes, ServiceRoutes__Output as _weft_discovery_v1_ServiceRoutes__Output } from '../../../weft/discovery/v1/ServiceRoutes.ts';

export interface Snapshot {
  'version'?: (string);
  'full'?: (boolean);
  'baseVersion'?: (string);
  'services'?: (_weft_discovery_v1_Service)[];
  'removedServices'?: (string)[];
  'policy'?: (_weft_discovery_v1_ProxyPolicy | null);
  'routes'?: (_weft_discovery_v1_ServiceRoutes)[];
  'removedRoutes'?: (string)[];
}

export interface Snapshot__Output {
  'version': (string);
  'full': (boolean);
  'baseVersion': (string);
  'services': (_weft_discovery_v1_Service__Output)[];
  'removedServices': (string)[];
  'policy': (_weft_discovery_v1_ProxyPolicy__Output | null);
  'routes': (_weft_discovery_v1_ServiceRoutes__Output)[];
  'removedRoutes': (string)[];
}
