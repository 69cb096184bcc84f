/**
 * docs/api.md and docs/openrpc.json, generated from the contract. `npm run docs` writes them;
 * a test fails when the committed files differ from what the contract generates.
 */
import { z } from 'zod';
import { AppErrors, methods, type ParamSpec, StandardErrors, subscriptions } from './contract.ts';

function schemaJson(schema: z.ZodType): unknown {
  return z.toJSONSchema(schema, { unrepresentable: 'any' });
}

export function openRpcDocument(): object {
  const param = (p: { name: string; schema: z.ZodType; optional: boolean }) => ({
    name: p.name,
    required: !p.optional,
    schema: schemaJson(p.schema),
  });
  return {
    openrpc: '1.3.2',
    info: {
      title: 'xcmp-sidecar',
      version: '0.1.0',
      description: 'Verified HRMP/XCMP messages per recipient, Substrate-style JSON-RPC.',
    },
    methods: [
      ...Object.entries(methods).map(([name, spec]) => ({
        name,
        summary: spec.summary,
        params: spec.params.map(param),
        result: { name: spec.resultName, schema: schemaJson(spec.result) },
        errors: spec.errors,
      })),
      ...Object.entries(subscriptions).flatMap(([name, spec]) => [
        {
          name,
          summary: spec.summary,
          params: spec.params.map(param),
          result: { name: 'subscriptionId', schema: { type: 'string' } },
          errors: spec.errors,
          'x-notification': {
            method: spec.notification,
            params: {
              subscription: 'string',
              result: { name: spec.updateName, schema: schemaJson(spec.update) },
            },
          },
        },
        {
          name: spec.unsubscribe,
          summary: `Ends a ${name} subscription; true when it existed.`,
          params: [{ name: 'subscription', required: true, schema: { type: 'string' } }],
          result: { name: 'unsubscribed', schema: { type: 'boolean' } },
        },
      ]),
    ],
  };
}

function table(rows: string[][]): string {
  const [head, ...body] = rows;
  return [
    `| ${head!.join(' | ')} |`,
    `|${head!.map(() => '---').join('|')}|`,
    ...body.map((r) => `| ${r.join(' | ')} |`),
  ].join('\n');
}

function typeOf(schema: z.ZodType): string {
  const json = schemaJson(schema) as { type?: string; properties?: Record<string, unknown> };
  return json.type === 'object' ? 'object' : (json.type ?? 'value');
}

interface JsonSchema {
  type?: string | string[];
  description?: string;
  anyOf?: JsonSchema[];
  enum?: unknown[];
  items?: JsonSchema;
  properties?: Record<string, JsonSchema>;
}

function describeType(s: JsonSchema): string {
  if (s.anyOf) return s.anyOf.map(describeType).join(' or ');
  if (s.enum) return s.enum.map((v) => JSON.stringify(v)).join(' or ');
  if (s.type === 'array') return `${s.items ? describeType(s.items) : 'value'}[]`;
  if (Array.isArray(s.type)) return s.type.join(' or ');
  return s.type ?? 'value';
}

function fields(schema: z.ZodType): string {
  const json = schemaJson(schema) as JsonSchema;
  const properties = json.properties ?? json.items?.properties;
  if (!properties) return '';
  const describe = (p: JsonSchema) => p.description ?? p.anyOf?.find((a) => a.description)?.description ?? '';
  return table([
    ['field', 'type', 'notes'],
    ...Object.entries(properties).map(([name, p]) => [
      `\`${name}\``,
      describeType(p),
      describe(p).replace(/\|/g, '\\|'),
    ]),
  ]);
}

/** The params table, then the fields of each object param. */
function paramsSection(params: readonly ParamSpec[]): string[] {
  const out = [
    table([
      ['param', 'type', 'required'],
      ...params.map((p) => [`\`${p.name}\``, typeOf(p.schema), p.optional ? 'no' : 'yes']),
    ]),
    '',
  ];
  for (const p of params) {
    const f = fields(p.schema);
    if (f) out.push(`\`${p.name}\`:`, '', f, '');
  }
  return out;
}

export function apiMarkdown(): string {
  const out: string[] = [
    '# JSON-RPC API',
    '',
    '<!-- Generated from rpc/contract.ts by `npm run docs`; do not edit by hand. -->',
    '',
    'One port serves WebSocket JSON-RPC (with subscriptions) and `POST /` (no subscriptions). JSON-RPC 2.0:',
    'batches allowed, ids echoed unchanged, `result` always present. Subscriptions follow Substrate: the',
    'subscribe call returns an id, notifications are `{"jsonrpc":"2.0","method":NOTIFICATION,"params":{"subscription":ID,"result":UPDATE}}`,',
    'unsubscribe returns `true`. Every other method is forwarded to the relay node (docs/proxy.md).',
    '',
    '## Methods',
    '',
  ];
  for (const [name, spec] of Object.entries(methods)) {
    out.push(`### \`${name}\``, '', spec.summary, '');
    if (spec.params.length > 0) out.push(...paramsSection(spec.params));
    out.push(`Result: \`${spec.resultName}\``, '', fields(spec.result), '');
    if (spec.errors.length > 0)
      out.push(`Errors: ${spec.errors.map((e) => `${e.code} (${e.message})`).join(', ')}`, '');
  }
  out.push('## Subscriptions', '');
  for (const [name, spec] of Object.entries(subscriptions)) {
    out.push(`### \`${name}\` / \`${spec.unsubscribe}\` → \`${spec.notification}\``, '', spec.summary, '');
    out.push(...paramsSection(spec.params));
    out.push(`Notification result: \`${spec.updateName}\``, '', fields(spec.update), '');
  }
  out.push(
    '## Errors',
    '',
    table([
      ['code', 'message'],
      ...[...Object.values(StandardErrors), ...Object.values(AppErrors)].map((e) => [
        String(e.code),
        e.message,
      ]),
    ]),
    '',
  );
  out.push(
    'Limits: see the operator guide (`--rpc-max-*` flags). An oversized WebSocket frame closes the connection with code 1009; over HTTP it is answered with -32007 and status 413.',
    '',
  );
  return out.join('\n');
}
