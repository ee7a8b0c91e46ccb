/**
 * The error catalogue: every error the API returns has a stable code and status listed here.
 * Domain code throws AppError; the HTTP error handler maps it to `{ error: { code, message, details? } }`.
 */
export const ERRORS = {
  VALIDATION_FAILED: { status: 400, message: 'The request is not valid' },
  MALFORMED_JSON: { status: 400, message: 'The request body is not valid JSON' },
  JSON_TOO_DEEP: { status: 400, message: 'The JSON body is nested too deeply' },
  MALFORMED_REQUEST: { status: 400, message: 'The HTTP request is malformed' },
  UNAUTHORIZED: { status: 401, message: 'An API key is required' },
  FORBIDDEN: { status: 403, message: 'The API key lacks the scope this route needs' },
  NOT_FOUND: { status: 404, message: 'Not found' },
  ROUTE_NOT_FOUND: { status: 404, message: 'No such route' },
  METHOD_NOT_ALLOWED: { status: 405, message: 'Method not allowed' },
  REQUEST_TIMEOUT: { status: 408, message: 'The request was not received in time' },
  CONFLICT: { status: 409, message: 'Conflicts with the current state' },
  JOB_ALREADY_RUNNING: { status: 409, message: 'A job of this kind is already running' },
  PAYLOAD_TOO_LARGE: { status: 413, message: 'The request body is too large' },
  URI_TOO_LONG: { status: 414, message: 'A path parameter is too long' },
  BATCH_TOO_LARGE: { status: 413, message: 'The batch has too many records' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, message: 'Unsupported content type' },
  UNPROCESSABLE: { status: 422, message: 'The request is well-formed but cannot be processed' },
  INVALID_RECIPE: { status: 422, message: 'The recipe is not valid' },
  RATE_LIMITED: { status: 429, message: 'Too many requests' },
  HEADERS_TOO_LARGE: { status: 431, message: 'The request headers are too large' },
  INTERNAL: { status: 500, message: 'Internal error' },
  UNAVAILABLE: { status: 503, message: 'A dependency is not available' },
  OVERLOADED: { status: 503, message: 'The server is overloaded; retry later' },
  SHUTTING_DOWN: { status: 503, message: 'The server is shutting down; retry on another instance' },
} as const satisfies Record<string, { status: number; message: string }>;

export type ErrorCode = keyof typeof ERRORS;

export class AppError extends Error {
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    message?: string,
    readonly details?: unknown[],
  ) {
    super(message ?? ERRORS[code].message);
    this.status = ERRORS[code].status;
  }
}

export const notFound = (what: string, id: string) => new AppError('NOT_FOUND', `${what} "${id}" not found`);
