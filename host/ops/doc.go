// Package ops is Wharf's operations facade: the one place where every
// operation on plugins, connections and services is authorized, validated,
// audited and sent to a plugin. The REST API (host/api) and the web portal
// are thin faces on it; they never talk to plugins, storage or the audit log
// themselves.
//
// Every mutating operation follows the same path:
//
//	authorize → validate (plugin's schema) → audit "started" → plugin call → audit outcome → answer
//
// A mutation refused on the way, before the plugin runs (its role does not
// allow it, its input is invalid, its connection or version is wrong), is
// audited too, as one entry with outcome denied, invalid or error; refusals
// are rate limited per actor ([RefusalLimit]). Audit entries of a service
// carry its name beside its id, as plugin answers showed it.
//
// Every plugin call goes through its connection's circuit breaker first
// (failpolicy.go): after repeated traps or timeouts the connection's calls
// fail fast, retryable, for a backoff window ([Connection].Failing).
//
// Every method takes a [Caller] (who is asking, with which [Role]) and
// returns errors as *pluginapi.Error, whose Code the faces map to a status.
// Unknown connections, services, plugins and actions are CodeNotFound.
package ops
