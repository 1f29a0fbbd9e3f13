// Writes a commented configuration file holding every key at its default.
import { stringify } from 'yaml';
import { configSchema, configDocs } from './schema.js';

export function generateConfigText(overrides: Record<string, unknown> = {}): string {
  const defaults = configSchema.parse(overrides) as Record<string, unknown>;
  const docs = new Map(configDocs);
  let out = '# Lattice homeserver configuration. Every key is shown with its default.\n';
  for (const [key, value] of Object.entries(defaults)) {
    out += '\n';
    const nested = value && typeof value === 'object' && !Array.isArray(value) && Object.keys(value).length > 0;
    if (docs.has(key)) out += `# ${docs.get(key)}\n`;
    if (nested && [...docs.keys()].some((k) => k.startsWith(`${key}.`))) {
      out += `${key}:\n`;
      for (const [sub, v] of Object.entries(value as Record<string, unknown>)) {
        const d = docs.get(`${key}.${sub}`);
        if (d) out += `  # ${d}\n`;
        out += indent(stringify({ [sub]: v }).trimEnd(), '  ') + '\n';
      }
    } else {
      out += stringify({ [key]: value });
    }
  }
  return out;
}

function indent(text: string, pad: string): string {
  return text.split('\n').map((l) => pad + l).join('\n');
}
