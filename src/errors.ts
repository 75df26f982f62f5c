/** A mistake in the user's input (file, option, dataset). The CLI prints its message without a stack trace. */
export class UserError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UserError';
  }
}
