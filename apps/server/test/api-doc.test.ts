/**
 * `docs/api.md` is the public contract, so it must not drift from what the code serves. Its route
 * tables are checked against the committed OpenAPI document (which
 * `packages/api/tooling/openapi-snapshot.test.ts` keeps equal to what the routers generate) and
 * its error table against the catalogue. Both are files and modules: no server is started.
 */
import { readFileSync } from 'node:fs';
import { errorCatalogue, errorCodes, listRestEventStreams, listRestOperations } from '@tasks/api';
import { describe, expect, it } from 'vitest';

const contractPage = readFileSync(new URL('../../../docs/api.md', import.meta.url), 'utf8');

interface OpenApiResponse {
  description: string;
  headers?: Record<string, unknown>;
}
interface OpenApiDocument {
  paths: Record<string, Record<string, { responses?: Record<string, OpenApiResponse> }>>;
}

const committedDocument = JSON.parse(
  readFileSync(new URL('../../../packages/api/openapi.json', import.meta.url), 'utf8'),
) as OpenApiDocument;

// A path item also holds keys that are not operations (`parameters`, `summary`...).
const operationKeys = new Set(['get', 'put', 'post', 'patch', 'delete', 'head', 'options']);

/** The success headers a route row may promise; the OpenAPI document declares the same ones. */
const successHeaderNames = ['ETag', 'Location'];

interface DocumentOperation {
  /** `METHOD /path`, as the page's route cells spell it. */
  route: string;
  successStatus: number;
  successHeaders: string[];
  /** Catalogue codes the document lists for each error status of the operation. */
  codesByStatus: Map<number, string[]>;
}

function documentOperations(): DocumentOperation[] {
  return Object.entries(committedDocument.paths).flatMap(([path, pathItem]) =>
    Object.entries(pathItem)
      .filter(([key]) => operationKeys.has(key))
      .map(([method, { responses = {} }]) => {
        const route = `${method.toUpperCase()} ${path}`;
        const successes = Object.keys(responses).filter((status) => status.startsWith('2'));
        const [success, ...others] = successes;
        if (success === undefined || others.length > 0) {
          throw new Error(
            `${route} should declare exactly one success status: ${successes.join(', ')}`,
          );
        }
        const codesByStatus = new Map<number, string[]>();
        for (const [status, { description }] of Object.entries(responses)) {
          // openapi.ts writes each error response's description as "`CODE`: title; ...".
          const codes = [...description.matchAll(/`([A-Z][A-Z_]*)`/g)].flatMap(([, code]) =>
            code === undefined ? [] : [code],
          );
          codesByStatus.set(Number(status), codes);
        }
        return {
          route,
          successStatus: Number(success),
          successHeaders: Object.keys(responses[success]?.headers ?? {}),
          codesByStatus,
        };
      }),
  );
}

interface MarkdownTable {
  header: string[];
  rows: string[][];
}

/** The cells of one table line; an escaped pipe (`string \| null`) stays inside its cell. */
function cellsOf(line: string): string[] {
  return line
    .trim()
    .replace(/^\|/, '')
    .replace(/(?<!\\)\|$/, '')
    .split(/(?<!\\)\|/)
    .map((cell) => cell.trim());
}

/** GitHub-flavoured tables: a header line, a `---` separator line, then one line per row. */
function tablesIn(markdown: string): MarkdownTable[] {
  const tables: MarkdownTable[] = [];
  let block: string[] = [];
  let inFence = false;
  const endBlock = () => {
    const [header, , ...rows] = block;
    if (header !== undefined && block.length >= 2) {
      tables.push({ header: cellsOf(header), rows: rows.map(cellsOf) });
    }
    block = [];
  };
  for (const line of markdown.split('\n')) {
    // A pipe at the start of a line inside a code block is code, not a table.
    if (line.trimStart().startsWith('```')) inFence = !inFence;
    if (!inFence && line.trimStart().startsWith('|')) block.push(line);
    else endBlock();
  }
  endBlock();
  return tables;
}

function columnIndex(table: MarkdownTable, name: string): number {
  const index = table.header.indexOf(name);
  if (index === -1)
    throw new Error(`A route table lacks the "${name}" column: ${table.header.join(' | ')}`);
  return index;
}

interface DocumentedRoute {
  route: string;
  procedure: string;
  successStatus: number;
  successCell: string;
  failuresCell: string;
}

/** The rows of every table whose first column is `route`: the Accounts and Tasks tables. */
function documentedRoutes(): DocumentedRoute[] {
  const routeTables = tablesIn(contractPage).filter((table) => table.header[0] === 'route');
  return routeTables.flatMap((table) => {
    const [procedureIndex, successIndex, failuresIndex] = ['tRPC', 'success', 'failures'].map(
      (name) => columnIndex(table, name),
    );
    return table.rows.map((cells) => {
      const cell = (index: number | undefined) => (index === undefined ? '' : (cells[index] ?? ''));
      // Exactly one route per row, so that a row cannot hide a second route from the checks.
      const route = /^`((?:GET|POST|PUT|PATCH|DELETE) \/\S*)`$/.exec(cell(0))?.[1];
      const status = /^`(\d{3})`/.exec(cell(successIndex))?.[1];
      const procedure = /^`([\w.]+)`$/.exec(cell(procedureIndex))?.[1];
      if (route === undefined || status === undefined || procedure === undefined) {
        throw new Error(
          `A route row must read | \`METHOD /path\` | \`procedure\` | ... | \`status\` ...: ${cells.join(' | ')}`,
        );
      }
      return {
        route,
        procedure,
        successStatus: Number(status),
        successCell: cell(successIndex),
        failuresCell: cell(failuresIndex),
      };
    });
  });
}

const operations = documentOperations();
const operationByRoute = new Map(operations.map((operation) => [operation.route, operation]));
const routes = documentedRoutes();
const byRoute = (a: string, b: string) => a.localeCompare(b);
const catalogueStatusByCode = new Map<string, number>(
  errorCodes.map((code) => [code, errorCatalogue[code].status]),
);

describe('docs/api.md route tables', () => {
  it('list every operation of the committed OpenAPI document once, and no other', () => {
    expect(routes.map(({ route }) => route).sort(byRoute)).toEqual(
      operations.map(({ route }) => route).sort(byRoute),
    );
  });

  it('give each route the success status the document declares', () => {
    expect(Object.fromEntries(routes.map((row) => [row.route, row.successStatus]))).toEqual(
      Object.fromEntries(operations.map((operation) => [operation.route, operation.successStatus])),
    );
  });

  it('promise exactly the success headers (ETag, Location) the document declares', () => {
    const promised = routes.map(({ route, successCell }) => ({
      route,
      headers: successHeaderNames.filter((name) => successCell.includes(`\`${name}\``)),
    }));
    expect(promised).toEqual(
      routes.map(({ route }) => ({
        route,
        headers: successHeaderNames.filter((name) =>
          operationByRoute.get(route)?.successHeaders.includes(name),
        ),
      })),
    );
  });

  it('name the tRPC procedure that serves each route', () => {
    const procedureByRoute = Object.fromEntries([
      ...listRestOperations().map((operation) => [
        `${operation.method} ${operation.path}`,
        operation.procedurePath,
      ]),
      ...listRestEventStreams().map((stream) => [`GET ${stream.path}`, stream.procedurePath]),
    ]);
    expect(Object.fromEntries(routes.map((row) => [row.route, row.procedure]))).toEqual(
      procedureByRoute,
    );
  });

  it('cite only failures the route can answer, with their catalogue statuses', () => {
    const wrongCitations: string[] = [];
    for (const { route, failuresCell } of routes) {
      // Failures are written `412 PRECONDITION_FAILED`, or `422` for a status alone.
      for (const [citation, status, code] of failuresCell.matchAll(/`(\d{3})(?: ([A-Z_]+))?`/g)) {
        const declaredCodes = operationByRoute.get(route)?.codesByStatus.get(Number(status));
        const fits =
          declaredCodes !== undefined &&
          (code === undefined ||
            (catalogueStatusByCode.get(code) === Number(status) && declaredCodes.includes(code)));
        if (!fits) wrongCitations.push(`${route}: ${citation}`);
      }
    }
    expect(wrongCitations).toEqual([]);
  });
});

describe('docs/api.md error table', () => {
  const errorTables = tablesIn(contractPage).filter(
    ({ header }) => header[0] === 'code' && header[1] === 'status',
  );

  it('lists every catalogue code once with its status, and no other', () => {
    expect(errorTables).toHaveLength(1);
    const documented = (errorTables[0]?.rows ?? []).map(([codeCell = '', statusCell = '']) => ({
      code: /^`([A-Z_]+)`$/.exec(codeCell)?.[1] ?? codeCell,
      status: /^\d{3}$/.test(statusCell) ? Number(statusCell) : statusCell,
    }));
    const byCode = (a: { code: string }, b: { code: string }) => a.code.localeCompare(b.code);
    expect(documented.sort(byCode)).toEqual(
      errorCodes.map((code) => ({ code, status: errorCatalogue[code].status })).sort(byCode),
    );
  });
});
