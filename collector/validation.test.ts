import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { formatIssues } from './validation.ts';

const schema = z
  .object({
    name: z.string().min(2).max(3),
    n: z.number().int().min(0).max(10),
    ratio: z.number().gt(0),
    kind: z.enum(['a', 'b']),
    list: z.array(z.object({ v: z.number() })).min(1),
    tags: z.array(z.string()).max(1),
  })
  .strict();

describe('formatIssues', () => {
  it('says what is wrong where, in plain words', () => {
    const r = schema.safeParse({ name: 'abcd', n: 1.5, ratio: 0, kind: 'c', list: [{ v: 'x' }, {}], tags: ['a', 'b'], extra: true });
    expect(formatIssues(r.error!)).toEqual([
      'name: must be at most 3 characters',
      'n: must be an integer',
      'ratio: must be > 0',
      'kind: must be one of a, b',
      'list[0].v: must be a number',
      'list[1].v: required',
      'tags: must have at most 1 item',
      'unknown field "extra"',
    ]);
  });

  it('prefixes a path for nested reports', () => {
    const r = z.object({ v: z.number().max(100) }).safeParse({ v: 101 });
    expect(formatIssues(r.error!, ['results', 3])).toEqual(['results[3].v: must be <= 100']);
  });
});
