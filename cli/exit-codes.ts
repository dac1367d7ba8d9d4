/** Exit codes of every `custody` command. */
export const EXIT_OK = 0;
/** Some recording failed or was rejected. */
export const EXIT_FAILED_RECORDING = 1;
/** Usage error, or infrastructure the command could not reach. */
export const EXIT_USAGE_OR_INFRASTRUCTURE = 2;
