// A request the planner cannot answer as asked: the message names what is wrong and what is
// allowed. A UserError, so the CLI prints it as one line and exits with code 2.
import { UserError } from '../train/errors.js';

export class PlanError extends UserError {
  override readonly name = 'PlanError';
}
