import { errorCatalogue, type ApiError, type FieldError } from './errors.js';

/** RFC 9457 problem details as REST clients receive them. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
  requestId: string;
  errors?: FieldError[];
}

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
