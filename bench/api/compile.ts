/**
 * .proto files (or a protoset) -> a @bufbuild/protobuf FileRegistry.
 *
 * Why not the suggested `protobufjs/ext/descriptor` toDescriptor(): tried, and its output is not a
 * faithful FileDescriptorSet. It makes one file per *package* (not per .proto), writes no
 * `dependency` list, applies one syntax to every file (its default, proto2, gives proto3 scalars
 * explicit presence, so defaults would be written to JSON and binary), writes type names relative to
 * the parent scope, drops `json_name` ("not supported") and drops extension options such as
 * `(google.api.http)` (it rebuilds options through its own MethodOptions type, which does not know
 * them). So this module keeps protobufjs only as the *parser* (its reflection tree with
 * `keepCase`, per-object `filename` and syntax, `parsedOptions`) and writes the
 * FileDescriptorProto of every file itself: fully-qualified type names, per-file syntax,
 * `json_name` (the option, else protoc's lowerCamelCase), proto3 `optional` with its synthetic oneof
 * last, map entries named as protoc names them (`my_map` -> `MyMapEntry`), proto2 defaults and
 * `packed`. The method's `google.api.http` rule, read from protobufjs's `parsedOptions`, is written
 * back into MethodOptions as the extension bytes protoc would write (field 72295728), so a .proto card
 * and a protoset card are read by the same code. @bufbuild/protobuf (conformance-tested) then does
 * every encoding. The well-known types (google/protobuf/*.proto) always come from
 * @bufbuild/protobuf's own copies, not from protobufjs's bundled JSON versions.
 * test/api/compile.test.ts compares this output with `buf build` (the Buf compiler) field by field.
 *
 * Not carried over: extension *declarations* in user files (custom options, proto2 extensions) —
 * a request never needs them; editions files (`edition = "2023"`) are refused with a pointer to
 * the protoset form.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import protobuf from 'protobufjs';
import {
  create,
  createFileRegistry,
  createRegistry,
  fromBinary,
  fromJson,
  toBinary,
  toJson,
  type DescExtension,
  type DescFile,
  type DescMessage,
  type DescMethod,
  type FileRegistry,
  type JsonObject,
} from '@bufbuild/protobuf';
import { protoCamelCase } from '@bufbuild/protobuf/reflect';
import * as wkt from '@bufbuild/protobuf/wkt';
import {
  FileDescriptorSetSchema,
  MethodOptionsSchema,
  type DescriptorProto,
  type EnumDescriptorProto,
  type FieldDescriptorProto,
  type FileDescriptorProto,
  type FileDescriptorSet,
  type ServiceDescriptorProto,
} from '@bufbuild/protobuf/wkt';
import { ApiCardError } from './errors.ts';

/** Field number of the `google.api.http` extension on google.protobuf.MethodOptions (google/api/annotations.proto). */
export const HTTP_RULE_EXTENSION_NUMBER = 72295728;

/** The directory of google-proto-files: google/api/*.proto, google/rpc/*.proto, google/protobuf/*.proto. */
export const GOOGLE_PROTOS_DIR = path.dirname(
  createRequire(import.meta.url).resolve('google-proto-files/google/api/http.proto'),
).replace(/[/\\]google[/\\]api$/, '');

export interface CompiledApi {
  registry: FileRegistry;
  /** The files as compiled, dependencies first (the well-known types included). */
  fileDescriptorSet: FileDescriptorSet;
  /** google.api.HttpRule, for reading rules and validating a card's `rest:` key. */
  httpRuleSchema: DescMessage;
  /** The `google.api.http` extension on MethodOptions. */
  httpExtension: DescExtension;
}

/** Where a card's schema comes from. Paths are absolute. */
export type ProtoSource =
  | { kind: 'proto'; files: string[]; importPaths: string[] }
  | { kind: 'protoset'; file: string };

/** Compile a card's protos. `card` names the card file in errors. */
export function compileApi(source: ProtoSource, card: string): CompiledApi {
  const http = httpRegistry();
  if (source.kind === 'protoset') {
    let set: FileDescriptorSet;
    try {
      set = fromBinary(FileDescriptorSetSchema, readFileSync(source.file));
    } catch (err) {
      throw ApiCardError.from(err, card, null, `protoset ${path.basename(source.file)} is not a binary FileDescriptorSet`);
    }
    return { ...http, fileDescriptorSet: set, registry: registryFrom(set, card) };
  }
  const set = compileProtoFiles(source.files, source.importPaths, card, http.httpRuleSchema);
  return { ...http, fileDescriptorSet: set, registry: registryFrom(set, card) };
}

/** Read a method's `google.api.http` rule as proto-named JSON (get/post/body/response_body/...), or null. */
export function httpRuleJson(method: DescMethod, api: Pick<CompiledApi, 'httpRuleSchema'>): JsonObject | null {
  const unknown = method.proto.options?.$unknown?.filter((f) => f.no === HTTP_RULE_EXTENSION_NUMBER);
  if (!unknown?.length) return null;
  // Repeated occurrences of a message field merge (proto wire rules): decode the concatenation.
  const bytes = Buffer.concat(unknown.map((f) => lengthDelimitedPayload(f.data)));
  const rule = fromBinary(api.httpRuleSchema, bytes);
  return toJson(api.httpRuleSchema, rule, { useProtoFieldName: true }) as JsonObject;
}

/** The `$unknown` data of a length-delimited field is the varint length followed by the payload. */
function lengthDelimitedPayload(data: Uint8Array): Uint8Array {
  let offset = 0;
  while (data[offset]! & 0x80) offset++;
  return data.subarray(offset + 1);
}

// ---- google/api/annotations.proto, compiled once --------------------------------------------------

let httpCache: Pick<CompiledApi, 'httpRuleSchema' | 'httpExtension'> | undefined;

function httpRegistry(): Pick<CompiledApi, 'httpRuleSchema' | 'httpExtension'> {
  if (!httpCache) {
    const set = compileProtoFiles([path.join(GOOGLE_PROTOS_DIR, 'google/api/annotations.proto')], [], 'google/api', null);
    const registry = createFileRegistry(set);
    httpCache = {
      httpRuleSchema: registry.getMessage('google.api.HttpRule')!,
      httpExtension: registry.getExtension('google.api.http')!,
    };
  }
  return httpCache;
}

function registryFrom(set: FileDescriptorSet, card: string): FileRegistry {
  try {
    return createFileRegistry(set);
  } catch (err) {
    throw ApiCardError.from(err, card, null, 'the compiled protos do not form a valid descriptor set');
  }
}

// ---- .proto -> FileDescriptorSet ------------------------------------------------------------------

/** Well-known type name -> @bufbuild/protobuf's file for it. */
const wktFiles: DescFile[] = [
  wkt.file_google_protobuf_any,
  wkt.file_google_protobuf_api,
  wkt.file_google_protobuf_descriptor,
  wkt.file_google_protobuf_duration,
  wkt.file_google_protobuf_empty,
  wkt.file_google_protobuf_field_mask,
  wkt.file_google_protobuf_source_context,
  wkt.file_google_protobuf_struct,
  wkt.file_google_protobuf_timestamp,
  wkt.file_google_protobuf_type,
  wkt.file_google_protobuf_wrappers,
];
const wktRegistry = createRegistry(...wktFiles);

const SCALAR_TYPES: Record<string, number> = {
  double: 1, float: 2, int64: 3, uint64: 4, int32: 5, fixed64: 6, fixed32: 7, bool: 8, string: 9,
  bytes: 12, uint32: 13, sfixed32: 15, sfixed64: 16, sint32: 17, sint64: 18,
};
const TYPE_GROUP = 10;
const TYPE_MESSAGE = 11;
const TYPE_ENUM = 14;
const LABEL_OPTIONAL = 1;
const LABEL_REQUIRED = 2;
const LABEL_REPEATED = 3;

type Init<T> = Partial<Omit<T, '$typeName' | '$unknown'>> & { $unknown?: { no: number; wireType: number; data: Uint8Array }[] };

interface FileBuild {
  name: string;
  package: string;
  syntax: string;
  deps: Set<string>;
  messageType: Init<DescriptorProto>[];
  enumType: Init<EnumDescriptorProto>[];
  service: Init<ServiceDescriptorProto>[];
}

function compileProtoFiles(
  files: string[],
  importPaths: string[],
  card: string,
  httpRuleSchema: DescMessage | null,
): FileDescriptorSet {
  const searchDirs = [...importPaths, GOOGLE_PROTOS_DIR];
  const nameOf = (abs: string): string => {
    const dir = searchDirs.find((d) => isInside(d, abs));
    return dir ? path.relative(dir, abs).split(path.sep).join('/') : path.basename(abs);
  };
  for (const file of files) {
    if (!existsSync(file)) throw new ApiCardError(card, null, `proto file ${file} not found`);
    if (!searchDirs.some((dir) => isInside(dir, file))) {
      throw new ApiCardError(card, null, `proto file ${file} is not under any of importPaths (${importPaths.join(', ')})`);
    }
  }

  const missing: string[] = [];
  const root = new protobuf.Root();
  root.resolvePath = (origin: string, target: string): string => {
    if (path.isAbsolute(target)) return target;
    for (const dir of searchDirs) {
      const candidate = path.join(dir, target);
      if (existsSync(candidate)) return candidate;
    }
    missing.push(`import "${target}"${origin ? ` (from ${nameOf(origin)})` : ''}`);
    return path.join(searchDirs[0]!, target); // fails below with the list of what is missing
  };
  try {
    // The http annotations are always loaded so their extension is known even when the card's rules
    // come only from `rest:` keys.
    root.loadSync([...files, path.join(GOOGLE_PROTOS_DIR, 'google/api/annotations.proto')], { keepCase: true });
    root.resolveAll();
  } catch (err) {
    if (missing.length) throw new ApiCardError(card, null, `${missing[0]} not found in importPaths (${importPaths.join(', ') || 'none'}) or google-proto-files`);
    throw ApiCardError.from(err, card, null, 'cannot compile the protos');
  }

  const builds = new Map<string, FileBuild>();
  const fileFor = (obj: protobuf.ReflectionObject): FileBuild => {
    const name = nameOf(obj.filename!);
    let build = builds.get(name);
    if (!build) {
      const edition = (obj as unknown as { _edition?: string })._edition ?? 'proto2';
      if (edition !== 'proto2' && edition !== 'proto3') {
        throw new ApiCardError(card, null, `${name} uses edition ${edition}; give the card a protoset instead (protoc --include_imports -o api.binpb ... or buf build -o api.binpb)`);
      }
      build = { name, package: obj.parent!.fullName.slice(1), syntax: edition, deps: new Set(), messageType: [], enumType: [], service: [] };
      builds.set(name, build);
    }
    return build;
  };
  /** Fully-qualified type name, and the file that declares it recorded as a dependency. */
  const typeRef = (type: protobuf.ReflectionObject, from: FileBuild): string => {
    const full = type.fullName; // ".pkg.Type"
    const wktFile = wktFileOf(full.slice(1));
    const depName = wktFile ? wktFile.proto.name : nameOf(type.filename ?? topLevel(type).filename!);
    if (depName !== from.name) from.deps.add(depName);
    return full;
  };

  const visit = (ns: protobuf.NamespaceBase): void => {
    for (const nested of ns.nestedArray) {
      const isWkt = nested.fullName.startsWith('.google.protobuf.');
      if (nested instanceof protobuf.Type) {
        if (!isWkt) { const f = fileFor(nested); f.messageType.push(messageProto(nested, f, typeRef)); }
      } else if (nested instanceof protobuf.Enum) {
        if (!isWkt) fileFor(nested).enumType.push(enumProto(nested));
      } else if (nested instanceof protobuf.Service) {
        const f = fileFor(nested);
        f.service.push(serviceProto(nested, f, typeRef, httpRuleSchema, card));
      } else if (nested instanceof protobuf.Namespace) {
        visit(nested);
      }
    }
  };
  visit(root);

  // Dependencies first: the well-known files the others use, then a topological order of ours.
  const ordered: Init<FileDescriptorProto>[] = [];
  const done = new Set<string>();
  const add = (name: string): void => {
    if (done.has(name)) return;
    done.add(name);
    const wktFile = wktFiles.find((f) => f.proto.name === name);
    if (wktFile) {
      for (const dep of wktFile.dependencies) add(dep.proto.name);
      ordered.push(wktFile.proto);
      return;
    }
    const build = builds.get(name);
    if (!build) return; // an imported file with no types used (its options only)
    for (const dep of build.deps) add(dep);
    ordered.push({
      name: build.name,
      package: build.package,
      dependency: [...build.deps],
      messageType: build.messageType as DescriptorProto[],
      enumType: build.enumType as EnumDescriptorProto[],
      service: build.service as ServiceDescriptorProto[],
      syntax: build.syntax,
    });
  };
  for (const name of builds.keys()) add(name);
  return create(FileDescriptorSetSchema, { file: ordered as FileDescriptorProto[] });
}

function isInside(dir: string, file: string): boolean {
  const rel = path.relative(dir, file);
  return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel);
}

function wktFileOf(typeName: string): DescFile | undefined {
  return (wktRegistry.getMessage(typeName) ?? wktRegistry.getEnum(typeName))?.file;
}

function topLevel(obj: protobuf.ReflectionObject): protobuf.ReflectionObject {
  let o = obj;
  while (o.parent && o.parent instanceof protobuf.Type) o = o.parent;
  return o;
}

type TypeRef = (type: protobuf.ReflectionObject, from: FileBuild) => string;

function messageProto(type: protobuf.Type, file: FileBuild, typeRef: TypeRef): Init<DescriptorProto> {
  // Synthetic oneofs (proto3 `optional`) go after the real ones, as protoc orders them.
  const isSynthetic = (o: protobuf.OneOf) => o.fieldsArray.length === 1 && !!o.fieldsArray[0]!.options?.proto3_optional;
  const oneofs = [...type.oneofsArray.filter((o) => !isSynthetic(o)), ...type.oneofsArray.filter(isSynthetic)];
  const nestedType: Init<DescriptorProto>[] = [];
  const field: Init<FieldDescriptorProto>[] = [];
  for (const f of type.fieldsArray) {
    if (f.name.startsWith('.')) continue; // protobufjs's copy of an extension declared elsewhere
    const options = f.options ?? {};
    const proto: Init<FieldDescriptorProto> = {
      name: f.name,
      number: f.id,
      jsonName: typeof options.json_name === 'string' ? options.json_name : protoCamelCase(f.name),
    };
    if (f instanceof protobuf.MapField) {
      const entryName = mapEntryName(f.name);
      const value: Init<FieldDescriptorProto> = { name: 'value', number: 2, label: LABEL_OPTIONAL, jsonName: 'value' };
      setType(value, f, file, typeRef);
      nestedType.push({
        name: entryName,
        field: [
          { name: 'key', number: 1, label: LABEL_OPTIONAL, type: SCALAR_TYPES[f.keyType], jsonName: 'key' },
          value,
        ] as FieldDescriptorProto[],
        options: { mapEntry: true } as DescriptorProto['options'],
      });
      Object.assign(proto, { label: LABEL_REPEATED, type: TYPE_MESSAGE, typeName: `${type.fullName}.${entryName}` });
    } else {
      setType(proto, f, file, typeRef);
      proto.label = f.repeated ? LABEL_REPEATED : f.required && file.syntax === 'proto2' ? LABEL_REQUIRED : LABEL_OPTIONAL;
      if (f.partOf) proto.oneofIndex = oneofs.indexOf(f.partOf);
      if (options.proto3_optional) proto.proto3Optional = true;
      if (options.default !== undefined) proto.defaultValue = String(options.default);
      if (typeof options.packed === 'boolean') proto.options = { packed: options.packed } as FieldDescriptorProto['options'];
    }
    field.push(proto);
  }
  const enumType: Init<EnumDescriptorProto>[] = [];
  for (const nested of type.nestedArray) {
    if (nested instanceof protobuf.Type) nestedType.push(messageProto(nested, file, typeRef));
    else if (nested instanceof protobuf.Enum) enumType.push(enumProto(nested));
  }
  return {
    name: type.name,
    field: field as FieldDescriptorProto[],
    nestedType: nestedType as DescriptorProto[],
    enumType: enumType as EnumDescriptorProto[],
    oneofDecl: oneofs.map((o) => ({ name: o.name })) as DescriptorProto['oneofDecl'],
    extensionRange: (type.extensions ?? []).map(([start, end]) => ({ start, end: end + 1 })) as DescriptorProto['extensionRange'],
  };
}

function setType(proto: Init<FieldDescriptorProto>, f: protobuf.Field, file: FileBuild, typeRef: TypeRef): void {
  const resolved = f.resolvedType;
  if (resolved instanceof protobuf.Enum) {
    proto.type = TYPE_ENUM;
    proto.typeName = typeRef(resolved, file);
  } else if (resolved instanceof protobuf.Type) {
    proto.type = (f as unknown as { delimited?: boolean }).delimited ? TYPE_GROUP : TYPE_MESSAGE;
    proto.typeName = typeRef(resolved, file);
  } else {
    proto.type = SCALAR_TYPES[f.type];
  }
}

function enumProto(e: protobuf.Enum): Init<EnumDescriptorProto> {
  return {
    name: e.name,
    value: Object.entries(e.values).map(([name, number]) => ({ name, number })) as EnumDescriptorProto['value'],
    ...(e.options?.allow_alias ? { options: { allowAlias: true } as EnumDescriptorProto['options'] } : {}),
  };
}

function serviceProto(
  service: protobuf.Service,
  file: FileBuild,
  typeRef: TypeRef,
  httpRuleSchema: DescMessage | null,
  card: string,
): Init<ServiceDescriptorProto> {
  return {
    name: service.name,
    method: service.methodsArray.map((m) => {
      const rule = httpRuleSchema && httpRuleFromParsedOptions(m);
      let options: object | undefined;
      if (rule && httpRuleSchema) {
        let bytes: Uint8Array;
        try {
          bytes = toBinary(httpRuleSchema, fromJson(httpRuleSchema, rule));
        } catch (err) {
          throw ApiCardError.from(err, card, null, `the google.api.http option of ${service.fullName.slice(1)}/${m.name}`);
        }
        // Built as a message so its $unknown (which create() does not copy from a plain init) survives.
        const methodOptions = create(MethodOptionsSchema);
        methodOptions.$unknown = [{ no: HTTP_RULE_EXTENSION_NUMBER, wireType: 2, data: withLength(bytes) }];
        options = methodOptions;
      }
      return {
        name: m.name,
        inputType: typeRef(m.resolvedRequestType!, file),
        outputType: typeRef(m.resolvedResponseType!, file),
        // descriptor.proto is proto2: a field set to false is still "set", so set these only when true, as protoc does.
        ...(m.requestStream ? { clientStreaming: true } : {}),
        ...(m.responseStream ? { serverStreaming: true } : {}),
        ...(options ? { options } : {}),
      };
    }) as ServiceDescriptorProto['method'],
  };
}

/** protobufjs keeps `option (google.api.http) = {...}` as a plain object; a repeated field appears once as an object, or as a list. */
function httpRuleFromParsedOptions(m: protobuf.Method): JsonObject | null {
  for (const option of m.parsedOptions ?? []) {
    const rule = (option as Record<string, unknown>)['(google.api.http)'];
    if (rule && typeof rule === 'object') return normalizeRule(rule as JsonObject);
  }
  return null;
}

function normalizeRule(rule: JsonObject): JsonObject {
  const out: JsonObject = { ...rule };
  const extra = rule.additional_bindings;
  if (extra !== undefined) {
    out.additional_bindings = (Array.isArray(extra) ? extra : [extra]).map((b) => normalizeRule(b as JsonObject));
  }
  return out;
}

function withLength(bytes: Uint8Array): Uint8Array {
  const prefix: number[] = [];
  let n = bytes.length;
  while (n > 0x7f) { prefix.push((n & 0x7f) | 0x80); n >>>= 7; }
  prefix.push(n);
  return Buffer.concat([Uint8Array.from(prefix), bytes]);
}

/** protoc's map entry name: `my_map` -> `MyMapEntry`. */
function mapEntryName(fieldName: string): string {
  const camel = protoCamelCase(fieldName);
  return camel.charAt(0).toUpperCase() + camel.slice(1) + 'Entry';
}
