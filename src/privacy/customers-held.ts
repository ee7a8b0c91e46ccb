import { AppError } from '../errors.js';

/**
 * The answer of a report or list of customers asked while a process holds every customer (serving.holdCustomers: it
 * started while Postgres did not answer and has not read the erasures owed yet): which customers to leave out cannot
 * be told, so it is refused, ask again (503, Retry-After), rather than answered with customers whose erasure may be
 * owed counted in, or as if no model were trained. Readiness (`erasureCatchUp`) is false meanwhile.
 */
export function customersHeldError(): AppError {
  return new AppError(
    'DEPENDENCY_UNAVAILABLE',
    'the customers cannot be told apart from those whose erasure is owed until the erasures are read from Postgres (this process started while it did not answer): ask again',
  );
}
