/**
 * Build step: writes the pipeline JSON Schema (for editors) from the stage registry.
 *   node dist/cli/write-schema.js [OUT]   (default: schema/quiver-pipeline.json in the repository)
 */
import path from "node:path";
import { fileURLToPath } from "node:url";
import { writePipelineSchema } from "../engine/schema-gen.js";
import { registry } from "../stages/index.js";

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const out = process.argv[2] ?? path.join(repoRoot, "schema", "quiver-pipeline.json");
writePipelineSchema(registry, out);
process.stdout.write(`wrote ${path.relative(process.cwd(), out) || out}\n`);
