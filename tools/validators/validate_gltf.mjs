// Validate GLB files with the Khronos glTF-Validator; print one JSON summary per file.
// Usage: node validate_gltf.mjs FILE...   (exit code 1 if any file has errors)
import { readFile } from "node:fs/promises";
import validator from "gltf-validator";

let failed = false;
const results = [];
for (const path of process.argv.slice(2)) {
  const data = new Uint8Array(await readFile(path));
  const report = await validator.validateBytes(data, { maxIssues: 50 });
  const issues = report.issues;
  if (issues.numErrors > 0) failed = true;
  results.push({
    path,
    errors: issues.numErrors,
    warnings: issues.numWarnings,
    messages: issues.messages.filter((m) => m.severity <= 1).map((m) => `${m.code}: ${m.message} (${m.pointer ?? ""})`),
  });
}
console.log(JSON.stringify(results));
process.exit(failed ? 1 : 0);
