// `weft completion bash|zsh`'s pure core: a completion script for the
// commands and their flags, generated from one table so it cannot drift from
// the commands it completes.
/** Every command of commands.ts (a test keeps them equal; importing the table here would be a cycle). */
export const COMMAND_NAMES = ["authz", "capture", "check", "completion", "dashboard", "demo", "diagnostics", "edges", "identity", "inject", "local", "proxy-config", "proxy-status", "run", "stat", "tap", "top", "uninject", "version"];

export const COMPLETION_FLAGS: Record<string, string[]> = {
  "proxy-config": ["--kubeconfig", "--context", "-n", "--namespace", "-o", "--output", "endpoints", "routes", "policy", "certs", "bootstrap"],
  "proxy-status": ["--kubeconfig", "--context", "-n", "--namespace", "-A", "--all-namespaces", "-o", "--output", "--control-plane-namespace"],
  version: ["--client", "--kubeconfig", "--context", "-o", "--output", "--control-plane-namespace"],
  tap: ["--to", "--method", "--path", "--max-rps", "--header", "--kubeconfig", "--context", "-n", "--namespace", "-o", "--output"],
  stat: ["--from", "--to", "--window", "--no-pods", "--prometheus-url", "--prometheus-namespace", "--kubeconfig", "--context", "-n", "--namespace", "-A", "--all-namespaces", "-o", "--output", "deploy", "pod", "svc", "ns"],
  top: ["--limit", "--interval", "--once", "--window", "--prometheus-url", "--prometheus-namespace", "--kubeconfig", "--context", "-n", "--namespace", "-A", "--all-namespaces", "-o", "--output", "deploy", "pod", "svc", "ns"],
  edges: ["--trust-domain", "--window", "--prometheus-url", "--prometheus-namespace", "--kubeconfig", "--context", "-n", "--namespace", "-A", "--all-namespaces", "-o", "--output", "deploy", "pod", "ns"],
  uninject: ["-f", "--filename"],
  diagnostics: ["--kubeconfig", "--context", "-n", "--namespace", "--out"],
  completion: ["bash", "zsh"],
  dashboard: ["--port", "--address", "--no-browser", "--kubeconfig", "--context", "-n", "--namespace"],
  check: ["--pre", "--kubeconfig", "-n", "-o"],
  inject: ["--config", "--namespace", "--namespace-labels"],
};

export function completionScript(shell: "bash" | "zsh", commands: readonly string[]): string {
  const cases = commands
    .map((c) => `    ${c}) opts="${(COMPLETION_FLAGS[c] ?? []).join(" ")}" ;;`)
    .join("\n");
  const bash = `# weft completion for bash: source <(weft completion bash)
_weft() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" opts
  if [ "$COMP_CWORD" -eq 1 ]; then
    COMPREPLY=( $(compgen -W "${commands.join(" ")}" -- "$cur") )
    return
  fi
  case "\${COMP_WORDS[1]}" in
${cases}
    *) opts="" ;;
  esac
  case "\${COMP_WORDS[COMP_CWORD-1]}" in
    -o|--output) opts="table wide json yaml" ;;
  esac
  COMPREPLY=( $(compgen -W "$opts" -- "$cur") )
}
complete -o default -F _weft weft
`;
  if (shell === "bash") return bash;
  // zsh runs the bash function through bashcompinit, as kubectl's own zsh script once did.
  return `#compdef weft
# weft completion for zsh: source <(weft completion zsh)
autoload -U +X bashcompinit && bashcompinit
${bash}`;
}
