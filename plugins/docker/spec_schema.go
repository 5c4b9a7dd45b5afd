package main

// The spec schema: the host validates every spec against it (types,
// enums, patterns, bounds; errors name the field), and the portal builds
// its forms and detail pages from its titles and descriptions.

const durationPattern = `^([0-9]+(\\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$|^0$`

const memoryPatternJSON = `^[0-9]+(\\.[0-9]+)? ?[kKmMgGtT]?(i?[bB])?$`

const modePattern = `^0?[0-7]{3,4}$`

// duration is a schema property holding a Go duration.
func duration(title, description string) string {
	return `{"type": "string", "pattern": "` + durationPattern + `", "title": "` + title + `", "description": "` + description + `"}`
}

// stringList is a schema property holding a list of non-empty strings.
func stringList(title, description string) string {
	return `{"type": "array", "items": {"type": "string", "minLength": 1}, "title": "` + title + `", "description": "` + description + `"}`
}

// stringMap is a schema property holding string values by name.
func stringMap(title, description string) string {
	return `{"type": "object", "additionalProperties": {"type": "string"}, "title": "` + title + `", "description": "` + description + `"}`
}

func updateConfigSchema(title, description string) string {
	return `{
      "type": "object",
      "title": "` + title + `",
      "description": "` + description + `",
      "additionalProperties": false,
      "properties": {
        "parallelism": {"type": "integer", "minimum": 0, "title": "Parallelism", "description": "Tasks updated at once; 0 means all at once. Default 1."},
        "delay": ` + duration("Delay", "Wait between updating two batches, e.g. 10s.") + `,
        "failure_action": {"type": "string", "enum": ["pause", "continue", "rollback"], "title": "On failure", "description": "What to do when a task fails to update (rollback is not allowed for rollback_config)."},
        "monitor": ` + duration("Monitor", "How long to watch each task for failure after it is updated, e.g. 5s.") + `,
        "max_failure_ratio": {"type": "number", "minimum": 0, "maximum": 1, "title": "Max failure ratio", "description": "Fraction of tasks that may fail before the failure action applies."},
        "order": {"type": "string", "enum": ["stop-first", "start-first"], "title": "Order", "description": "Stop the old task before starting the new one, or the reverse."}
      }
    }`
}

// fileRefSchema is a secret or config reference.
func fileRefSchema(kind, title, where string) string {
	return `{
      "type": "array",
      "title": "` + title + `",
      "description": "Swarm ` + kind + `s (docker ` + kind + ` create) put as files in each task's container, by name.",
      "items": {
        "type": "object",
        "additionalProperties": false,
        "required": ["name"],
        "properties": {
          "name": {"type": "string", "minLength": 1, "title": "Name", "description": "Name of an existing ` + kind + ` on the swarm.", "x-choices": true},
          "target": {"type": "string", "minLength": 1, "title": "File", "description": "File name in the container ` + where + `; the ` + kind + `'s name when left out."},
          "uid": {"type": "string", "pattern": "^[0-9]+$", "title": "Owner UID", "description": "User ID owning the file. Default 0."},
          "gid": {"type": "string", "pattern": "^[0-9]+$", "title": "Owner GID", "description": "Group ID owning the file. Default 0."},
          "mode": {"type": "string", "pattern": "` + modePattern + `", "title": "Mode", "description": "File permissions in octal, such as 0400. Default 0444."}
        }
      }
    }`
}

// specSchema is laid out for forms by specLayout (spec_layout.go).
var specSchema = withLayout(`{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "type": "object",
  "additionalProperties": false,
  "required": ["name", "image"],
  "properties": {
    "name": {"type": "string", "title": "Name", "description": "Service name: letters, digits, - and _ (a DNS label). Docker cannot rename a service: changing it later is refused.", "pattern": "^[a-zA-Z0-9](?:[-_]*[A-Za-z0-9]+)*$", "maxLength": 63},
    "image": {"type": "string", "minLength": 1, "pattern": "\\S", "title": "Image", "description": "Image reference, such as nginx:1.27 or registry.example.com/app@sha256:..."},
    "command": {"type": "array", "items": {"type": "string"}, "title": "Command", "description": "Overrides the image's entrypoint."},
    "args": {"type": "array", "items": {"type": "string"}, "title": "Arguments", "description": "Arguments to the command (the image's CMD when left out)."},
    "env": {"type": "object", "additionalProperties": {"type": "string"}, "propertyNames": {"pattern": "^[^=]+$"}, "title": "Environment", "description": "Environment variables, name to value."},
    "labels": ` + stringMap("Service labels", "Labels on the service.") + `,
    "container_labels": ` + stringMap("Container labels", "Labels on each task's container.") + `,
    "workdir": {"type": "string", "title": "Working directory", "description": "Working directory inside the container."},
    "user": {"type": "string", "title": "User", "description": "User (and group) the command runs as, such as 1000:1000."},
    "groups": ` + stringList("Extra groups", "Additional groups the command runs with, by name or ID.") + `,
    "tty": {"type": "boolean", "title": "TTY", "description": "Allocate a terminal. Logs are then one raw stream."},
    "hostname": {"type": "string", "maxLength": 253, "pattern": "^[A-Za-z0-9{]([A-Za-z0-9.{}_ -]*[A-Za-z0-9}])?$", "title": "Hostname", "description": "Host name inside the containers; may use templates such as {{.Task.Slot}}."},
    "read_only": {"type": "boolean", "title": "Read-only root", "description": "Mount the container's root file system read-only."},
    "init": {"type": "boolean", "title": "Init process", "description": "Run an init inside the container that forwards signals and reaps processes. Left out: the engine's default."},
    "stop_signal": {"type": "string", "pattern": "^(SIG)?[A-Z0-9+-]+$|^[0-9]+$", "title": "Stop signal", "description": "Signal that stops the container, such as SIGTERM (the default) or SIGQUIT."},
    "stop_grace_period": ` + duration("Stop grace period", "Time to wait after the stop signal before killing the container, e.g. 30s. Default 10s.") + `,
    "healthcheck": {
      "type": "object",
      "additionalProperties": false,
      "title": "Health check",
      "description": "How the engine tells a healthy task: a task is running only once its check passes, and is replaced when it fails. Left out: the image's HEALTHCHECK.",
      "properties": {
        "test": {"type": "array", "minItems": 1, "prefixItems": [{"enum": ["CMD", "CMD-SHELL", "NONE"]}], "items": {"type": "string"}, "title": "Test", "description": "[\"CMD\", program, args...], [\"CMD-SHELL\", command line] or [\"NONE\"] to disable the image's check. Left out: the image's test with these timings.", "examples": [["CMD", "curl", "-f", "http://localhost/"], ["NONE"]]},
        "interval": ` + duration("Interval", "Time between two checks, e.g. 30s (the default).") + `,
        "timeout": ` + duration("Timeout", "A check that takes longer fails, e.g. 30s (the default).") + `,
        "start_period": ` + duration("Start period", "Time the container has to start before failed checks count, e.g. 1m.") + `,
        "retries": {"type": "integer", "minimum": 0, "title": "Retries", "description": "Consecutive failures that make the task unhealthy. Default 3."}
      }
    },
    "mounts": {
      "type": "array",
      "title": "Mounts",
      "description": "Bind mounts, volumes and tmpfs file systems in each task's container.",
      "items": {
        "type": "object",
        "additionalProperties": false,
        "required": ["type", "target"],
        "properties": {
          "type": {"type": "string", "enum": ["bind", "volume", "tmpfs", "npipe"], "title": "Type", "description": "bind: a path of the node; volume: a named or anonymous volume; tmpfs: memory."},
          "source": {"type": "string", "title": "Source", "description": "bind: the path on the node; volume: the volume's name (anonymous when left out); none for tmpfs."},
          "target": {"type": "string", "minLength": 1, "pattern": "^/", "title": "Target", "description": "Absolute path in the container."},
          "read_only": {"type": "boolean", "title": "Read-only", "description": "Mount it read-only."},
          "consistency": {"type": "string", "enum": ["default", "consistent", "cached", "delegated"], "title": "Consistency", "description": "Mount consistency (meaningful on Docker Desktop only)."},
          "propagation": {"type": "string", "enum": ["private", "rprivate", "shared", "rshared", "slave", "rslave"], "title": "Propagation", "description": "bind only: how mounts below it propagate. Default rprivate."},
          "no_copy": {"type": "boolean", "title": "No copy", "description": "volume only: do not copy the image's files at the target into a new volume."},
          "labels": ` + stringMap("Volume labels", "volume only: labels of the volume created.") + `,
          "driver": {"type": "string", "minLength": 1, "title": "Volume driver", "description": "volume only: the driver creating the volume, such as local."},
          "driver_options": ` + stringMap("Driver options", "volume only: options of the volume driver, such as type: nfs.") + `,
          "tmpfs_size": {"type": "string", "pattern": "` + memoryPatternJSON + `", "title": "Size", "description": "tmpfs only: its size, such as 64M. Unlimited when left out."},
          "tmpfs_mode": {"type": "string", "pattern": "` + modePattern + `", "title": "Mode", "description": "tmpfs only: its permissions in octal, such as 1777."}
        }
      }
    },
    "secrets": ` + fileRefSchema("secret", "Secrets", "(relative names go under /run/secrets)") + `,
    "configs": ` + fileRefSchema("config", "Configs", "(an absolute path, or relative to /)") + `,
    "dns_config": {
      "type": "object",
      "additionalProperties": false,
      "title": "DNS",
      "description": "The containers' resolver configuration (resolv.conf).",
      "properties": {
        "nameservers": {"type": "array", "items": {"type": "string", "pattern": "^[0-9A-Fa-f:.]+(%[A-Za-z0-9]+)?$"}, "title": "Name servers", "description": "IP addresses of the DNS servers."},
        "search": ` + stringList("Search domains", "Domains appended to short names.") + `,
        "options": ` + stringList("Options", "Resolver options, such as ndots:2 or timeout:3.") + `
      }
    },
    "hosts": {"type": "array", "items": {"type": "string", "pattern": "^\\S+(\\s+\\S+)+$"}, "title": "Extra hosts", "description": "Lines added to /etc/hosts: an IP address, then host names, such as 10.0.0.5 db.internal db."},
    "cap_add": {"type": "array", "items": {"type": "string", "pattern": "^[A-Za-z_]+$"}, "title": "Add capabilities", "description": "Kernel capabilities added, such as CAP_NET_ADMIN, or ALL."},
    "cap_drop": {"type": "array", "items": {"type": "string", "pattern": "^[A-Za-z_]+$"}, "title": "Drop capabilities", "description": "Kernel capabilities dropped, such as CAP_MKNOD, or ALL."},
    "sysctls": {"type": "object", "additionalProperties": {"type": "string"}, "propertyNames": {"pattern": "^[A-Za-z0-9_.\\-/]+$"}, "title": "Sysctls", "description": "Namespaced kernel parameters, such as net.core.somaxconn: 1024."},
    "ulimits": {
      "type": "array",
      "title": "Ulimits",
      "description": "Resource limits of the container's processes.",
      "items": {
        "type": "object",
        "additionalProperties": false,
        "required": ["name", "soft", "hard"],
        "properties": {
          "name": {"type": "string", "pattern": "^[a-z]+$", "title": "Name", "description": "Such as nofile, nproc, core, memlock."},
          "soft": {"type": "integer", "minimum": -1, "title": "Soft limit", "description": "-1 is unlimited."},
          "hard": {"type": "integer", "minimum": -1, "title": "Hard limit", "description": "-1 is unlimited."}
        }
      }
    },
    "isolation": {"type": "string", "enum": ["default", "process", "hyperv"], "title": "Isolation", "description": "Isolation technology of the containers (Windows nodes); the engine stores default when left out."},
    "mode": {"type": "string", "enum": ["replicated", "global", "replicated-job", "global-job"], "default": "replicated", "title": "Mode", "description": "replicated: a number of tasks; global: one task per node; the job modes run to completion."},
    "replicas": {"type": "integer", "minimum": 0, "title": "Replicas", "description": "Number of tasks (replicated), or of completions (replicated-job). Default 1."},
    "max_concurrent": {"type": "integer", "minimum": 1, "title": "Max concurrent", "description": "For replicated-job: tasks running at once."},
    "resources": {
      "type": "object",
      "additionalProperties": false,
      "title": "Resources",
      "description": "CPU in cores (0.5 = half a CPU), memory with a binary unit (512M, 1G), generic resources (GPUs...).",
      "properties": {
        "cpu_limit": {"type": "number", "minimum": 0, "title": "CPU limit", "description": "Most CPUs a task may use."},
        "memory_limit": {"type": "string", "pattern": "` + memoryPatternJSON + `", "title": "Memory limit", "description": "Most memory a task may use, such as 512M."},
        "cpu_reservation": {"type": "number", "minimum": 0, "title": "CPU reservation", "description": "CPUs a node must have free to run a task."},
        "memory_reservation": {"type": "string", "pattern": "` + memoryPatternJSON + `", "title": "Memory reservation", "description": "Memory a node must have free to run a task, such as 256M."},
        "generic_resources": {
          "type": "array",
          "title": "Generic resources",
          "description": "Resources a node advertises (dockerd --node-generic-resource) that each task reserves.",
          "items": {
            "type": "object",
            "additionalProperties": false,
            "required": ["kind"],
            "oneOf": [{"required": ["discrete"]}, {"required": ["named"]}],
            "properties": {
              "kind": {"type": "string", "minLength": 1, "pattern": "^[^=]+$", "title": "Kind", "description": "Such as gpu."},
              "discrete": {"type": "integer", "minimum": 0, "title": "Count", "description": "How many of the kind, such as 2 (give this or named)."},
              "named": {"type": "string", "minLength": 1, "title": "Named unit", "description": "One unit by its name, such as GPU-4f1e (give this or discrete)."}
            }
          }
        }
      }
    },
    "restart_policy": {
      "type": "object",
      "additionalProperties": false,
      "title": "Restart policy",
      "description": "What swarm does when a task exits.",
      "properties": {
        "condition": {"type": "string", "enum": ["none", "on-failure", "any"], "title": "Condition", "description": "When to restart. Default any."},
        "delay": ` + duration("Delay", "Wait between restarts, e.g. 5s.") + `,
        "max_attempts": {"type": "integer", "minimum": 0, "title": "Max attempts", "description": "Give up after this many restarts; 0 means never give up."},
        "window": ` + duration("Window", "Time window in which restarts are counted, e.g. 2m.") + `
      }
    },
    "constraints": {"type": "array", "items": {"type": "string", "minLength": 1}, "title": "Placement constraints", "description": "Such as node.role==manager or node.labels.zone==a."},
    "placement_preferences": {
      "type": "array",
      "title": "Placement preferences",
      "description": "Spread the tasks evenly over the values of node labels, in order.",
      "items": {
        "type": "object",
        "additionalProperties": false,
        "required": ["spread"],
        "properties": {
          "spread": {"type": "string", "minLength": 1, "title": "Spread over", "description": "A node label, such as node.labels.zone."}
        }
      }
    },
    "max_replicas_per_node": {"type": "integer", "minimum": 0, "title": "Max replicas per node", "description": "For replicated mode: most tasks on one node; 0 is no limit."},
    "platforms": {
      "type": "array",
      "title": "Platforms",
      "description": "Node platforms the tasks may run on (the docker CLI fills them from the image); any platform when left out.",
      "items": {
        "type": "object",
        "additionalProperties": false,
        "minProperties": 1,
        "properties": {
          "architecture": {"type": "string", "minLength": 1, "title": "Architecture", "description": "Such as amd64 or arm64."},
          "os": {"type": "string", "minLength": 1, "title": "OS", "description": "Such as linux or windows."}
        }
      }
    },
    "networks": {
      "type": "array",
      "title": "Networks",
      "description": "Swarm networks to attach, by name or ID (the engine shows IDs back); a plain name, or an attachment with aliases and driver options.",
      "items": {
        "anyOf": [
          {"type": "string", "minLength": 1, "title": "Network"},
          {
            "type": "object",
            "title": "Attachment",
            "additionalProperties": false,
            "required": ["target"],
            "properties": {
              "target": {"type": "string", "minLength": 1, "title": "Network", "description": "Name or ID of the network."},
              "aliases": ` + stringList("Aliases", "Extra DNS names of the service on this network.") + `,
              "driver_options": ` + stringMap("Driver options", "Options of the network driver for this attachment.") + `
            }
          }
        ]
      }
    },
    "ports": {
      "type": "array",
      "title": "Ports",
      "description": "Container ports to publish.",
      "items": {
        "type": "object",
        "additionalProperties": false,
        "required": ["target"],
        "properties": {
          "target": {"type": "integer", "minimum": 1, "maximum": 65535, "title": "Container port"},
          "published": {"type": "integer", "minimum": 0, "maximum": 65535, "title": "Published port", "description": "Port on the swarm; 0 or left out lets swarm pick one."},
          "protocol": {"type": "string", "enum": ["tcp", "udp", "sctp"], "default": "tcp", "title": "Protocol"},
          "mode": {"type": "string", "enum": ["ingress", "host"], "default": "ingress", "title": "Publish mode", "description": "ingress: routing mesh on every node; host: only on the node running the task."}
        }
      }
    },
    "endpoint_mode": {"type": "string", "enum": ["vip", "dnsrr"], "title": "Endpoint mode", "description": "vip: one virtual IP load-balanced by swarm; dnsrr: DNS round robin (no ingress ports)."},
    "update_config": ` + updateConfigSchema("Update strategy", "How a change rolls out over the tasks.") + `,
    "rollback_config": ` + updateConfigSchema("Rollback strategy", "How a rollback rolls out over the tasks.") + `,
    "log_driver": {
      "type": "object",
      "additionalProperties": false,
      "required": ["name"],
      "title": "Log driver",
      "description": "Logging driver of the tasks. Logs can be read back only with json-file, local or journald.",
      "properties": {
        "name": {"type": "string", "minLength": 1, "title": "Driver", "description": "Such as json-file, local, journald, syslog."},
        "options": ` + stringMap("Options", "Driver options, such as max-size: 10m.") + `
      }
    }
  }
}`)
