/**
 * The gRPC server generated from an API card: @grpc/grpc-js, as the calculator's (servers/grpc-server.ts),
 * with the same channel options (message limits, streams per connection, keepalive), the same status
 * rewording of transport failures, the standard grpc.health.v1 service and the same TLS. Its services
 * are built from the card's registry at start: a grpc-js service definition per service whose
 * serializers are @bufbuild/protobuf's toBinary / fromBinary, and one handler per method answering
 * what api.ts says (the card's response, an echo, the empty message, or an error status; a server
 * stream, the messages the card lists, else that answer STREAM_ANSWERS times).
 */
import * as grpc from '@grpc/grpc-js';
import { HealthImplementation } from 'grpc-health-check';
import { fromBinary, toBinary, type DescMessage, type Message } from '@bufbuild/protobuf';
import { listenGrpcServer } from '../grpc-server.ts';
import { countingInterceptor, GRPC_SERVER_CHANNEL_OPTIONS, statusRewriter } from '../grpc-status.ts';
import { validateConnectionLimits, type RunningServer, type ServerOptions } from '../server-options.ts';
import { streamMessages, type GeneratedApi, type GeneratedMethod } from './api.ts';

// Transport failures are reworded, and calls counted (the bench's replicas), as the calculator's gRPC server does.

/** A Uint8Array as a Buffer over the same bytes (grpc-js wants a Buffer; no copy). */
function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function serializer(schema: DescMessage): (message: Message) => Buffer {
  return (message) => asBuffer(toBinary(schema, message));
}

function deserializer(schema: DescMessage): (bytes: Buffer) => Message {
  return (bytes) => fromBinary(schema, bytes);
}

/** The grpc-js service definition of one service of the card, from its descriptor. */
export function serviceDefinition(api: GeneratedApi, serviceName: string): grpc.ServiceDefinition {
  const definition: Record<string, grpc.MethodDefinition<Message, Message>> = {};
  const service = api.services.find((s) => s.typeName === serviceName)!;
  for (const method of service.methods) {
    definition[method.localName] = {
      path: `/${service.typeName}/${method.name}`,
      originalName: method.name,
      requestStream: method.methodKind === 'client_streaming' || method.methodKind === 'bidi_streaming',
      responseStream: method.methodKind === 'server_streaming' || method.methodKind === 'bidi_streaming',
      requestSerialize: serializer(method.input),
      requestDeserialize: deserializer(method.input),
      responseSerialize: serializer(method.output),
      responseDeserialize: deserializer(method.output),
    };
  }
  return definition;
}

function unaryHandler(method: GeneratedMethod): grpc.handleUnaryCall<Message, Message> {
  const { answer } = method;
  switch (answer.kind) {
    case 'message':
    case 'empty':
      return (_call, callback) => callback(null, answer.message);
    case 'echo':
      return (call, callback) => callback(null, call.request);
    case 'error':
      return (_call, callback) => callback({ code: answer.code, details: answer.message });
  }
}

/** Streaming methods: a server stream writes its messages (method.ts streamMessages); the others, and errors, their status at once. */
function streamHandler(method: GeneratedMethod): grpc.UntypedHandleCall {
  const { answer } = method;
  const status = answer.kind === 'error' ? { code: answer.code, details: answer.message } : { code: grpc.status.UNIMPLEMENTED, details: 'not generated' };
  if (method.descriptor.methodKind === 'server_streaming' && answer.kind !== 'error') {
    return (call: grpc.ServerWritableStream<Message, Message>) => {
      for (const message of streamMessages(method, call.request)) call.write(message);
      call.end();
    };
  }
  switch (method.descriptor.methodKind) {
    case 'server_streaming':
    case 'bidi_streaming':
      return (call: grpc.ServerWritableStream<Message, Message>) => call.emit('error', status);
    default:
      return (_call: grpc.ServerReadableStream<Message, Message>, callback: grpc.sendUnaryData<Message>) => callback(status);
  }
}

/** A grpc-js server with the card's services and the health service registered, not yet bound. */
export function getGeneratedServer(api: GeneratedApi, options: Pick<ServerOptions, 'maxConnectionAgeMs' | 'onCall'> = {}): grpc.Server {
  const age = options.maxConnectionAgeMs !== undefined ? { 'grpc.max_connection_age_ms': options.maxConnectionAgeMs } : {};
  const counting = options.onCall ? [countingInterceptor(options.onCall)] : [];
  const server = new grpc.Server({ ...GRPC_SERVER_CHANNEL_OPTIONS, ...age, interceptors: [statusRewriter, ...counting] });
  const health: Record<string, 'SERVING'> = { '': 'SERVING' };
  for (const service of api.services) {
    const implementation: grpc.UntypedServiceImplementation = {};
    for (const descriptor of service.methods) {
      const method = api.methods.get(`/${service.typeName}/${descriptor.name}`)!;
      implementation[descriptor.localName] = descriptor.methodKind === 'unary' ? unaryHandler(method) : streamHandler(method);
    }
    server.addService(serviceDefinition(api, service.typeName), implementation);
    health[service.typeName] = 'SERVING';
  }
  new HealthImplementation(health).addToServer(server);
  return server;
}

export async function startGeneratedGrpcServer(api: GeneratedApi, options: ServerOptions): Promise<RunningServer> {
  validateConnectionLimits(options);
  return listenGrpcServer(getGeneratedServer(api, options), options);
}
