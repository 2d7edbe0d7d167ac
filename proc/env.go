package proc

import "strings"

// privateEnv names the variables that describe taskvisor's own relation to
// its supervisor (systemd, or a parent taskvisor). A child must never inherit
// them: it would report its readiness to our supervisor, or be watched by it.
var privateEnv = []string{"NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID"}

// childEnv builds a child's environment: inherited without privateEnv, then
// extra (later entries win over earlier ones and over inherited ones of the
// same key), then NOTIFY_SOCKET=notifySocket when notifySocket is set. The
// order of inherited keys is kept; new keys follow in the order of extra.
func childEnv(inherited, extra []string, notifySocket string) []string {
	env := make([]string, 0, len(inherited)+len(extra)+1)
	index := make(map[string]int, len(inherited)+len(extra)+1)
	set := func(kv string) {
		k := envKey(kv)
		if i, ok := index[k]; ok {
			env[i] = kv
			return
		}
		index[k] = len(env)
		env = append(env, kv)
	}
	for _, kv := range inherited {
		if !isPrivateEnv(envKey(kv)) {
			set(kv)
		}
	}
	for _, kv := range extra {
		set(kv)
	}
	if notifySocket != "" {
		set("NOTIFY_SOCKET=" + notifySocket)
	}
	return env
}

// envKey is the key of a KEY=value entry (the whole entry if it has no '=').
func envKey(kv string) string {
	if k, _, ok := strings.Cut(kv, "="); ok {
		return k
	}
	return kv
}

func isPrivateEnv(key string) bool {
	for _, k := range privateEnv {
		if k == key {
			return true
		}
	}
	return false
}
