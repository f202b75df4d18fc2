import { z } from 'zod';
import { errorCatalogue, errorCodes, type ApiError, type ErrorCode } from './errors.js';

/** RFC 9457 problem details, the body of every REST error. */
export const problemSchema = z
  .object({
    type: z.string().meta({
      description: 'Relative URI naming the code',
      examples: ['/problems/validation-failed'],
    }),
    title: z.string().meta({ examples: ['Validation failed'] }),
    status: z
      .number()
      .int()
      .min(400)
      .max(599)
      .meta({ examples: [422] }),
    detail: z.string().meta({ examples: ['1 field is invalid'] }),
    code: z.enum(errorCodes as [ErrorCode, ...ErrorCode[]]),
    requestId: z.string().meta({ examples: ['6f1c2a8e-3b7d-4c9a-8e5f-1a2b3c4d5e6f'] }),
    errors: z
      .array(
        z.object({
          path: z.string().meta({ examples: ['title'] }),
          code: z.string().meta({ examples: ['too_small'] }),
          message: z
            .string()
            .meta({ examples: ['Too small: expected string to have >=1 characters'] }),
        }),
      )
      .optional()
      .meta({ description: 'The invalid fields (VALIDATION_FAILED)' }),
  })
  .meta({ id: 'Problem', description: 'RFC 9457 problem details' });

/** RFC 9457 problem details as REST clients receive them: the documented schema's type. */
export type Problem = z.infer<typeof problemSchema>;

export const problemContentType = 'application/problem+json';

export function toProblem(error: ApiError, requestId: string): Problem {
  return {
    type: `/problems/${error.apiCode.toLowerCase().replaceAll('_', '-')}`,
    title: errorCatalogue[error.apiCode].title,
    status: error.status,
    detail: error.message,
    code: error.apiCode,
    requestId,
    ...(error.fieldErrors && { errors: error.fieldErrors }),
  };
}
