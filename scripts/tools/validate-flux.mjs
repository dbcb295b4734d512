// Validate Flux objects against the CRD schemas compiled into @kubernetes-models/flux-cd.
//
// Usage: node validate-flux.mjs NODE_MODULES_DIR < objects.json
// stdin holds a JSON array of objects; each is checked by the model class of its
// apiVersion and kind. Prints one line per error ("<index> <kind>: <message>") and
// exits 1 when there is any, 2 when an object's kind has no model.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const modules = process.argv[2];
const objects = JSON.parse(readFileSync(0, "utf8"));
let failed = 0;
for (const [index, object] of objects.entries()) {
  const [group, version] = String(object.apiVersion).split("/");
  const entry = join(modules, "@kubernetes-models", "flux-cd", group, version, "index.js");
  let model;
  try {
    model = (await import(pathToFileURL(entry).href))[object.kind];
  } catch {
    model = undefined;
  }
  if (model === undefined) {
    console.log(`${index} ${object.kind}: no Flux model for ${object.apiVersion}`);
    process.exit(2);
  }
  try {
    new model(object).validate();
  } catch (error) {
    console.log(`${index} ${object.kind}: ${error.message}`);
    failed = 1;
  }
}
process.exit(failed);
