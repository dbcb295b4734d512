// Describe GitLab REST operations as JSON Schema, from the TypeScript types of @gitbeaker/core.
//
// Usage: node gitlab-schemas.mjs NODE_MODULES_DIR < methods.json
// stdin holds a JSON array of gitbeaker methods ("MergeRequests.create", ...). For each,
// prints what its last (most general) overload takes and gives:
//   {"methods": {"MergeRequests.create": {"params": [{"name", "optional", "schema"}],
//                                         "returns": SCHEMA}}, "$defs": {...}}
// An options parameter (an intersection such as `AllCommitsOptions & Sudo & ...`) is one
// object schema of its own properties, camelCase as gitbeaker names them; the client-side
// parts (Sudo, ShowExpanded, pagination, streaming) are left out. "returns" is the T of
// `Promise<GitlabAPIResponse<T, ...>>`. Object types become "$defs" entries; their
// "x-closed" is true when the type has no index signature (extra keys are not described).
// Exits 2 when a method does not exist.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";

const modules = process.argv[2];
const ts = createRequire(join(modules, "noop.js"))("typescript");
const methods = JSON.parse(readFileSync(0, "utf8"));
const file = join(modules, "@gitbeaker", "core", "dist", "index.d.ts");
const program = ts.createProgram([file], { noEmit: true, strict: true, skipLibCheck: true, lib: ["lib.es2022.d.ts", "lib.dom.d.ts"] });
const checker = program.getTypeChecker();
const source = program.getSourceFile(file);
// Options every method takes that the client consumes itself, never sent as parameters.
const CLIENT_SIDE = new Set(["Sudo", "ShowExpanded", "PaginationRequestOptions", "BaseRequestOptions", "AsStream", "IsForm"]);
const F = ts.TypeFlags;
const defs = {};
const named = new Map();

function nameOf(type) {
  const symbol = type.aliasSymbol ?? type.getSymbol();
  const name = symbol && !symbol.getName().startsWith("__") ? symbol.getName() : "Anonymous";
  return `${name}_${type.id}`;
}

function object(type, closed) {
  let key = named.get(type.id);
  if (key) return { $ref: `#/$defs/${key}` };
  key = nameOf(type);
  named.set(type.id, key);
  const properties = {};
  const required = [];
  for (const prop of checker.getPropertiesOfType(type)) {
    const propType = checker.getTypeOfSymbol(prop);
    if (propType.getCallSignatures().length) continue; // methods of class instances (Blob, ...)
    const schema = convert(propType);
    if (schema === null) continue;
    properties[prop.getName()] = schema;
    if (!(prop.flags & ts.SymbolFlags.Optional)) required.push(prop.getName());
  }
  const index = checker.getIndexInfosOfType(type);
  const schema = { type: "object", properties, required, "x-closed": closed && index.length === 0 };
  defs[key] = schema;
  return { $ref: `#/$defs/${key}` };
}

function union(types) {
  const members = types.map(convert).filter((schema) => schema !== null);
  const consts = members.filter((schema) => "const" in schema).map((schema) => schema.const);
  if (consts.length === 2 && consts.includes(true) && consts.includes(false)) {
    const rest = members.filter((schema) => !("const" in schema) || typeof schema.const !== "boolean");
    return rest.length ? { anyOf: [{ type: "boolean" }, ...rest] } : { type: "boolean" };
  }
  if (members.length && members.length === consts.length) return { enum: consts };
  return members.length === 1 ? members[0] : { anyOf: members };
}

// The JSON Schema of a TypeScript type; null for undefined/void (an absent value).
function convert(type) {
  const flags = type.flags;
  if (flags & (F.Any | F.Unknown)) return {};
  if (flags & (F.Undefined | F.Void | F.Never)) return null;
  if (flags & F.Null) return { type: "null" };
  if (flags & F.StringLiteral) return { const: type.value };
  if (flags & F.NumberLiteral) return { const: type.value };
  if (flags & F.BooleanLiteral) return { const: type.intrinsicName === "true" };
  if (flags & F.String || flags & F.TemplateLiteral) return { type: "string" };
  if (flags & F.Number) return { type: "number" };
  if (flags & F.Boolean) return { type: "boolean" };
  if (flags & F.Union) return union(type.types);
  if (checker.isArrayType(type) || checker.isTupleType(type)) {
    const items = checker.getTypeArguments(type).map(convert).filter((schema) => schema !== null);
    return { type: "array", items: items.length === 1 ? items[0] : items.length ? { anyOf: items } : {} };
  }
  if (flags & (F.Object | F.Intersection)) return object(type, false);
  return {};
}

// An options parameter: the properties of the parts of its intersection that are sent.
function options(node) {
  const parts = ts.isIntersectionTypeNode(node) ? node.types : [node];
  const sent = parts.filter((part) => !(ts.isTypeReferenceNode(part) && CLIENT_SIDE.has(part.typeName.getText(source))));
  const properties = {};
  const required = [];
  let closed = true;
  for (const part of sent) {
    const ref = object(checker.getTypeFromTypeNode(part), true);
    const schema = defs[ref.$ref.slice("#/$defs/".length)];
    Object.assign(properties, schema.properties);
    required.push(...schema.required);
    closed &&= schema["x-closed"];
  }
  return { type: "object", properties, required, "x-closed": closed };
}

function method(className, methodName) {
  const declaration = source.statements.find((node) => ts.isClassDeclaration(node) && node.name?.text === className);
  const overloads = (declaration?.members ?? []).filter((node) => ts.isMethodDeclaration(node) && node.name.getText(source) === methodName);
  const last = overloads.at(-1);
  if (!last) return null;
  const params = last.parameters.map((param) => {
    const name = ts.isIdentifier(param.name) ? param.name.text : "options";
    const isOptions = name === "options" || ts.isIntersectionTypeNode(param.type);
    const schema = isOptions ? options(param.type) : convert(checker.getTypeFromTypeNode(param.type));
    return { name, optional: Boolean(param.questionToken || param.initializer), options: isOptions, schema };
  });
  const promise = last.type; // Promise<GitlabAPIResponse<T, C, E, P>>
  const response = promise.typeArguments?.[0];
  const body = response?.typeArguments?.[0];
  return { params, returns: body ? convert(checker.getTypeFromTypeNode(body)) ?? {} : {} };
}

const out = { methods: {}, $defs: defs };
for (const name of methods) {
  const [className, methodName] = name.split(".");
  const described = method(className, methodName);
  if (described === null) {
    console.error(`gitlab-schemas: @gitbeaker/core has no method ${name}`);
    process.exit(2);
  }
  out.methods[name] = described;
}
console.log(JSON.stringify(out));
