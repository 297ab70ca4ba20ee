// `--name value` flags for the suites that read their own arguments (authz,
// tap): a number with a default, or text when given.
export interface BenchArgs {
  number(name: string, fallback: number): number;
  text(name: string): string | undefined;
}

export function benchArgs(args: readonly string[]): BenchArgs {
  const text = (name: string): string | undefined => {
    const i = args.indexOf(`--${name}`);
    return i >= 0 ? args[i + 1] : undefined;
  };
  return {
    text,
    number: (name, fallback) => {
      const value = text(name);
      return value === undefined ? fallback : Number(value);
    },
  };
}
