/**
 * How each client style calls a contender; a contender names one. Apart from
 * the registry (index.ts) so that a contender module can name its client
 * without importing index.ts, which imports the module (a cycle).
 */
import type { Operation } from '../calculator.ts';
import { grpcMethodPath } from '../proto.ts';
import type { ClientStyle, ContenderClient } from './types.ts';

const restPath = (operation: Operation): string => `/v1/${operation}`;

export const CLIENTS: Readonly<Record<ClientStyle, ContenderClient>> = {
  'rest-json': { style: 'rest-json', path: restPath, contentType: 'application/json' },
  'rest-protobuf': { style: 'rest-protobuf', path: restPath, contentType: 'application/x-protobuf' },
  grpc: { style: 'grpc', path: grpcMethodPath, contentType: 'application/grpc' },
  'connect-proto': { style: 'connect-proto', path: grpcMethodPath, contentType: 'application/proto' },
};
