// Parses GitHub Actions workflow files with GitHub's own parser (@actions/workflow-parser, ESM
// only, hence a child process) and prints what the tests check, as JSON, one entry per file.
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { convertWorkflowTemplate, NoOperationTraceWriter, parseWorkflow } from '@actions/workflow-parser';

/** A token tree as plain JSON (mappings become objects, expressions their source). */
function plain(token) {
  if (token === undefined || token === null) return undefined;
  if (typeof token.toJSON !== 'function') return token;
  if (token.templateTokenType === 2 /* mapping */) {
    const out = {};
    for (let i = 0; i < token.count; i++) {
      const { key, value } = token.get(i);
      out[key.toString()] = plain(value);
    }
    return out;
  }
  if (token.templateTokenType === 1 /* sequence */) {
    const out = [];
    for (let i = 0; i < token.count; i++) out.push(plain(token.get(i)));
    return out;
  }
  if ('expression' in token) return '${{ ' + token.expression + ' }}';
  return token.value;
}

const results = [];
for (const path of process.argv.slice(2)) {
  const parsed = parseWorkflow({ name: basename(path), content: readFileSync(path, 'utf8') }, new NoOperationTraceWriter());
  const template = await convertWorkflowTemplate(parsed.context, parsed.value);
  const raw = plain(parsed.value) ?? {};
  results.push({
    file: basename(path),
    errors: [...parsed.context.errors.getErrors().map((e) => e.message), ...(template.errors ?? []).map((e) => e.Message)],
    events: JSON.parse(JSON.stringify(template.events ?? {})),
    permissions: raw.permissions,
    jobs: (template.jobs ?? []).map((job) => ({
      id: job.id.value,
      needs: (job.needs ?? []).map((n) => n.value),
      if: job.if?.expression,
      environment: plain(job.environment),
      permissions: raw.jobs?.[job.id.value]?.permissions,
      steps: job.steps.map((s) => ({ uses: s.uses?.value, run: s.run?.value ?? (s.run && plain(s.run)), if: s.if?.expression, continueOnError: s['continue-on-error'] === undefined ? undefined : plain(s['continue-on-error']), with: raw.jobs?.[job.id.value]?.steps?.[job.steps.indexOf(s)]?.with })),
    })),
  });
}
process.stdout.write(JSON.stringify(results, null, 2));
