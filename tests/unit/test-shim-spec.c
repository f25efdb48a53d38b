/* shim-bridge/shim/spec.c: the config.json files CRI writes for a pod's
 * sandbox and for an app container, every field the shim acts on, the
 * lookups on them (mount sources, env, the pod's grouping id), each bad
 * input answered by its error code and one line naming the field, and how
 * an app's instance memory and count fit a memory limit. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shim-bridge/shim/spec.h"
#include "tests/tap.h"

#define SANDBOX_ID "0f3e5c9a2b7d41c8a6e9f0b1d2c3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1"
#define APP_ID "8e2d4c6a0b1f3e5d7c9a8b6e4f2d0c1a3b5e7f9d8c6a4b2e0f1d3c5a7b9e8f6d4c"
#define POD_DIR "/var/lib/kubelet/pods/5b1f0c2e-8d3a-4e6b-9f7c-1a2b3c4d5e6f"

/* A pod's sandbox (pause) container as containerd's CRI writes it: a new
 * network namespace, CPU shares only, no memory limit. The same text is a
 * seed of tests/fuzz/corpus/shim-spec. */
static const char sandbox_json[] =
	"{\n"
	"  \"ociVersion\": \"1.2.0\",\n"
	"  \"process\": {\n"
	"    \"user\": {\"uid\": 65535, \"gid\": 65535},\n"
	"    \"args\": [\"/pause\"],\n"
	"    \"env\": [\"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\"],\n"
	"    \"cwd\": \"/\",\n"
	"    \"capabilities\": {\"bounding\": [\"CAP_CHOWN\"], \"effective\": [\"CAP_CHOWN\"], \"perm"
	"itted\": [\"CAP_CHOWN\"]},\n"
	"    \"noNewPrivileges\": true,\n"
	"    \"oomScoreAdj\": -998\n"
	"  },\n"
	"  \"root\": {\"path\": \"rootfs\", \"readonly\": true},\n"
	"  \"hostname\": \"web-7d4b9c6f5-x2x9q\",\n"
	"  \"mounts\": [\n"
	"    {\"destination\": \"/proc\", \"type\": \"proc\", \"source\": \"proc\", \"options\": [\"n"
	"osuid\", \"noexec\", \"nodev\"]},\n"
	"    {\"destination\": \"/dev\", \"type\": \"tmpfs\", \"source\": \"tmpfs\", \"options\": [\""
	"nosuid\", \"strictatime\", \"mode=755\", \"size=65536k\"]},\n"
	"    {\"destination\": \"/dev/shm\", \"type\": \"bind\", \"source\": \"/run/containerd/io.con"
	"tainerd.grpc.v1.cri/sandboxes/0f3e5c9a2b7d41c8a6e9f0b1d2c3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0"
	"d1/shm\", \"options\": [\"rbind\", \"ro\", \"nosuid\", \"nodev\", \"noexec\"]},\n"
	"    {\"destination\": \"/etc/resolv.conf\", \"type\": \"bind\", \"source\": \"/var/lib/conta"
	"inerd/io.containerd.grpc.v1.cri/sandboxes/0f3e5c9a2b7d41c8a6e9f0b1d2c3e4f5a6b7c8d9e0f1a2b3c4"
	"d5e6f7a8b9c0d1/resolv.conf\", \"options\": [\"rbind\", \"ro\", \"nosuid\", \"nodev\", \"noex"
	"ec\"]}\n"
	"  ],\n"
	"  \"annotations\": {\n"
	"    \"io.kubernetes.cri.container-type\": \"sandbox\",\n"
	"    \"io.kubernetes.cri.sandbox-id\": \"0f3e5c9a2b7d41c8a6e9f0b1d2c3e4f5a6b7c8d9e0f1a2b3c4d5"
	"e6f7a8b9c0d1\",\n"
	"    \"io.kubernetes.cri.sandbox-name\": \"web-7d4b9c6f5-x2x9q\",\n"
	"    \"io.kubernetes.cri.sandbox-namespace\": \"default\",\n"
	"    \"io.kubernetes.cri.sandbox-uid\": \"5b1f0c2e-8d3a-4e6b-9f7c-1a2b3c4d5e6f\",\n"
	"    \"io.kubernetes.cri.sandbox-log-directory\": \"/var/log/pods/default_web-7d4b9c6f5-x2x9q"
	"_5b1f0c2e-8d3a-4e6b-9f7c-1a2b3c4d5e6f\",\n"
	"    \"io.kubernetes.cri.sandbox-cpu-period\": \"100000\",\n"
	"    \"io.kubernetes.cri.sandbox-cpu-quota\": \"0\",\n"
	"    \"io.kubernetes.cri.sandbox-cpu-shares\": \"2\",\n"
	"    \"io.kubernetes.cri.sandbox-memory\": \"0\"\n"
	"  },\n"
	"  \"linux\": {\n"
	"    \"resources\": {\n"
	"      \"devices\": [{\"allow\": false, \"access\": \"rwm\"}],\n"
	"      \"cpu\": {\"shares\": 2}\n"
	"    },\n"
	"    \"cgroupsPath\": \"/kubepods/besteffort/pod5b1f0c2e-8d3a-4e6b-9f7c-1a2b3c4d5e6f/0f3e5c9a"
	"2b7d41c8a6e9f0b1d2c3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1\",\n"
	"    \"namespaces\": [\n"
	"      {\"type\": \"pid\"},\n"
	"      {\"type\": \"ipc\"},\n"
	"      {\"type\": \"uts\"},\n"
	"      {\"type\": \"mount\"},\n"
	"      {\"type\": \"network\"}\n"
	"    ],\n"
	"    \"seccomp\": {\"defaultAction\": \"SCMP_ACT_ERRNO\", \"architectures\": [\"SCMP_ARCH_X86"
	"_64\"], \"syscalls\": [{\"names\": [\"read\"], \"action\": \"SCMP_ACT_ALLOW\"}]},\n"
	"    \"maskedPaths\": [\"/proc/kcore\"],\n"
	"    \"readonlyPaths\": [\"/proc/sys\"]\n"
	"  }\n"
	"}\n";

/* An app container of the same pod: it joins the sandbox's namespaces and has
 * limits; SPIN_HTTP_LISTEN_ADDR is set twice (the last one counts). */
static const char app_json[] =
	"{\n"
	"  \"ociVersion\": \"1.2.0\",\n"
	"  \"process\": {\n"
	"    \"user\": {\"uid\": 0, \"gid\": 0, \"additionalGids\": [0]},\n"
	"    \"args\": [\"/\"],\n"
	"    \"env\": [\n"
	"      \"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\",\n"
	"      \"HOSTNAME=web-7d4b9c6f5-x2x9q\",\n"
	"      \"SPIN_HTTP_LISTEN_ADDR=0.0.0.0:80\",\n"
	"      \"SPIN_VARIABLE_GREETING=hello=world\",\n"
	"      \"KUBERNETES_SERVICE_HOST=10.96.0.1\",\n"
	"      \"KUBERNETES_SERVICE_PORT=443\",\n"
	"      \"SPIN_HTTP_LISTEN_ADDR=0.0.0.0:8080\"\n"
	"    ],\n"
	"    \"cwd\": \"/\",\n"
	"    \"capabilities\": {\"bounding\": [\"CAP_NET_BIND_SERVICE\"]},\n"
	"    \"oomScoreAdj\": 1000\n"
	"  },\n"
	"  \"root\": {\"path\": \"rootfs\"},\n"
	"  \"mounts\": [\n"
	"    {\"destination\": \"/proc\", \"type\": \"proc\", \"source\": \"proc\", \"options\": [\"n"
	"osuid\", \"noexec\", \"nodev\"]},\n"
	"    {\"destination\": \"/dev\", \"type\": \"tmpfs\", \"source\": \"tmpfs\", \"options\": [\""
	"nosuid\", \"strictatime\", \"mode=755\", \"size=65536k\"]},\n"
	"    {\"destination\": \"/sys/fs/cgroup\", \"type\": \"cgroup\", \"source\": \"cgroup\", \"op"
	"tions\": [\"nosuid\", \"noexec\", \"nodev\", \"relatime\", \"ro\"]},\n"
	"    {\"destination\": \"/runtime-config.toml\", \"type\": \"bind\", \"source\": \"/var/lib/k"
	"ubelet/pods/5b1f0c2e-8d3a-4e6b-9f7c-1a2b3c4d5e6f/volumes/kubernetes.io~secret/spin-runtime-c"
	"onfig/runtime-config.toml\", \"options\": [\"rbind\", \"rprivate\", \"ro\"]},\n"
	"    {\"destination\": \"/etc/ssl/certs/ca-certificates.crt\", \"type\": \"bind\", \"source\""
	": \"/var/lib/kubelet/pods/5b1f0c2e-8d3a-4e6b-9f7c-1a2b3c4d5e6f/volumes/kubernetes.io~secret/"
	"spin-ca/ca-certificates.crt\", \"options\": [\"rbind\", \"rprivate\", \"ro\"]},\n"
	"    {\"destination\": \"/etc/hosts\", \"type\": \"bind\", \"source\": \"/var/lib/kubelet/pod"
	"s/5b1f0c2e-8d3a-4e6b-9f7c-1a2b3c4d5e6f/etc-hosts\", \"options\": [\"rbind\", \"rprivate\", "
	"\"rw\"]},\n"
	"    {\"destination\": \"/dev/termination-log\", \"type\": \"bind\", \"source\": \"/var/lib/k"
	"ubelet/pods/5b1f0c2e-8d3a-4e6b-9f7c-1a2b3c4d5e6f/containers/web/2a9c7e1f\", \"options\": [\""
	"rbind\", \"rprivate\", \"rw\"]},\n"
	"    {\"destination\": \"/var/run/secrets/kubernetes.io/serviceaccount\", \"type\": \"bind\","
	" \"source\": \"/var/lib/kubelet/pods/5b1f0c2e-8d3a-4e6b-9f7c-1a2b3c4d5e6f/volumes/kubernetes"
	".io~projected/kube-api-access-7xq2p\", \"options\": [\"rbind\", \"rprivate\", \"ro\"]}\n"
	"  ],\n"
	"  \"annotations\": {\n"
	"    \"io.kubernetes.cri.container-type\": \"container\",\n"
	"    \"io.kubernetes.cri.container-name\": \"web\",\n"
	"    \"io.kubernetes.cri.image-name\": \"registry.local:5000/spin/hello:v1\",\n"
	"    \"io.kubernetes.cri.sandbox-id\": \"0f3e5c9a2b7d41c8a6e9f0b1d2c3e4f5a6b7c8d9e0f1a2b3c4d5"
	"e6f7a8b9c0d1\",\n"
	"    \"io.kubernetes.cri.sandbox-name\": \"web-7d4b9c6f5-x2x9q\",\n"
	"    \"io.kubernetes.cri.sandbox-namespace\": \"default\",\n"
	"    \"io.kubernetes.cri.sandbox-uid\": \"5b1f0c2e-8d3a-4e6b-9f7c-1a2b3c4d5e6f\"\n"
	"  },\n"
	"  \"linux\": {\n"
	"    \"resources\": {\n"
	"      \"devices\": [{\"allow\": false, \"access\": \"rwm\"}],\n"
	"      \"memory\": {\"limit\": 134217728, \"swap\": 134217728},\n"
	"      \"cpu\": {\"shares\": 102, \"quota\": 50000, \"period\": 100000},\n"
	"      \"pids\": {\"limit\": 1024}\n"
	"    },\n"
	"    \"cgroupsPath\": \"/kubepods/burstable/pod5b1f0c2e-8d3a-4e6b-9f7c-1a2b3c4d5e6f/8e2d4c6a0"
	"b1f3e5d7c9a8b6e4f2d0c1a3b5e7f9d8c6a4b2e0f1d3c5a7b9e8f6d4c\",\n"
	"    \"namespaces\": [\n"
	"      {\"type\": \"pid\", \"path\": \"/proc/123/ns/pid\"},\n"
	"      {\"type\": \"ipc\", \"path\": \"/proc/123/ns/ipc\"},\n"
	"      {\"type\": \"uts\", \"path\": \"/proc/123/ns/uts\"},\n"
	"      {\"type\": \"mount\"},\n"
	"      {\"type\": \"network\", \"path\": \"/proc/123/ns/net\"},\n"
	"      {\"type\": \"cgroup\"}\n"
	"    ],\n"
	"    \"maskedPaths\": [\"/proc/acpi\", \"/proc/kcore\"],\n"
	"    \"readonlyPaths\": [\"/proc/bus\", \"/proc/sys\"]\n"
	"  }\n"
	"}\n";

static void sandbox_spec(void)
{
	struct shim_spec s;
	struct sk_error e = { 0 };

	is_int(shim_spec_parse(sandbox_json, strlen(sandbox_json), &s, &e), 0, "sandbox: parses (%s)", e.message);
	is_int(s.n_args, 1, "sandbox: one arg");
	is_str(s.n_args ? s.args[0] : NULL, "/pause", "sandbox: args[0] is /pause");
	ok(s.args && s.args[s.n_args] == NULL, "sandbox: args end with NULL");
	is_int(s.n_env, 1, "sandbox: one env entry");
	is_str(shim_spec_env(&s, "PATH"), "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
	       "sandbox: PATH");
	is_str(s.cwd, "/", "sandbox: cwd");
	is_int(s.n_mounts, 4, "sandbox: four mounts");
	is_str(s.n_mounts ? s.mounts[0].destination : NULL, "/proc", "sandbox: mounts[0].destination");
	is_str(s.n_mounts ? s.mounts[0].type : NULL, "proc", "sandbox: mounts[0].type");
	is_str(shim_spec_mount_source(&s, "/etc/resolv.conf"),
	       "/var/lib/containerd/io.containerd.grpc.v1.cri/sandboxes/" SANDBOX_ID "/resolv.conf",
	       "sandbox: the source of /etc/resolv.conf");
	is_str(shim_spec_mount_source(&s, "/runtime-config.toml"), NULL, "sandbox: no runtime config mount");
	is_str(s.netns, NULL, "sandbox: no network namespace path");
	ok(s.own_netns, "sandbox: a network namespace of its own");
	is_str(s.cgroups_path, "/kubepods/besteffort/pod5b1f0c2e-8d3a-4e6b-9f7c-1a2b3c4d5e6f/" SANDBOX_ID,
	       "sandbox: cgroupsPath");
	is_int(s.memory_limit, 0, "sandbox: no memory limit");
	is_int(s.cpu_shares, 2, "sandbox: cpu shares 2");
	is_int(s.cpu_quota, 0, "sandbox: no cpu quota");
	is_int(s.cpu_period, 0, "sandbox: no cpu period");
	is_int(s.pids_limit, 0, "sandbox: no pids limit");
	ok(s.sandbox, "sandbox: container-type sandbox");
	is_str(s.sandbox_id, SANDBOX_ID, "sandbox: sandbox-id");
	is_str(s.image_name, NULL, "sandbox: no image name");
	is_str(s.container_name, NULL, "sandbox: no container name");
	is_str(shim_spec_group(&s, "other"), SANDBOX_ID, "sandbox: grouped by its sandbox id");
	shim_spec_free(&s);
	ok(s.args == NULL && s.n_mounts == 0 && s.sandbox_id == NULL, "sandbox: free zeroes the struct");
	shim_spec_free(&s);
	shim_spec_free(NULL);
	ok(1, "free twice and free(NULL) are harmless");
}

static void app_spec(void)
{
	struct shim_spec s;
	struct sk_error e = { 0 };

	is_int(shim_spec_parse(app_json, strlen(app_json), &s, &e), 0, "app: parses (%s)", e.message);
	is_int(s.n_args, 1, "app: one arg");
	is_str(s.n_args ? s.args[0] : NULL, "/", "app: args[0]");
	is_int(s.n_env, 7, "app: seven env entries");
	is_str(s.n_env > 2 ? s.env[2] : NULL, "SPIN_HTTP_LISTEN_ADDR=0.0.0.0:80", "app: env kept in order");
	is_str(shim_spec_env(&s, "SPIN_HTTP_LISTEN_ADDR"), "0.0.0.0:8080", "app: env: the last of two wins");
	is_str(shim_spec_env(&s, "SPIN_VARIABLE_GREETING"), "hello=world", "app: env: value with '=' kept whole");
	is_str(shim_spec_env(&s, "KUBERNETES_SERVICE_PORT"), "443", "app: env: KUBERNETES_SERVICE_PORT");
	is_str(shim_spec_env(&s, "SPIN_HTTP"), NULL, "app: env: a prefix of a name is not the name");
	is_str(shim_spec_env(&s, "NOPE"), NULL, "app: env: missing name");
	is_str(s.cwd, "/", "app: cwd");
	is_int(s.n_mounts, 8, "app: eight mounts");
	is_str(shim_spec_mount_source(&s, "/runtime-config.toml"),
	       POD_DIR "/volumes/kubernetes.io~secret/spin-runtime-config/runtime-config.toml",
	       "app: the runtime config's source");
	is_str(shim_spec_mount_source(&s, "/etc/ssl/certs/ca-certificates.crt"),
	       POD_DIR "/volumes/kubernetes.io~secret/spin-ca/ca-certificates.crt", "app: the CA bundle's source");
	is_str(shim_spec_mount_source(&s, "/dev/termination-log"), POD_DIR "/containers/web/2a9c7e1f",
	       "app: the termination log's source");
	is_str(shim_spec_mount_source(&s, "/etc/ssl/certs"), NULL, "app: a parent of a destination is no match");
	is_str(s.n_mounts > 2 ? s.mounts[2].type : NULL, "cgroup", "app: mounts[2].type");
	is_str(s.netns, "/proc/123/ns/net", "app: the sandbox's network namespace");
	ok(!s.own_netns, "app: no network namespace of its own");
	is_str(s.cgroups_path, "/kubepods/burstable/pod5b1f0c2e-8d3a-4e6b-9f7c-1a2b3c4d5e6f/" APP_ID,
	       "app: cgroupsPath");
	is_int(s.memory_limit, 134217728, "app: memory limit 128 MiB");
	is_int(s.cpu_shares, 102, "app: cpu shares");
	is_int(s.cpu_quota, 50000, "app: cpu quota");
	is_int(s.cpu_period, 100000, "app: cpu period");
	is_int(s.pids_limit, 1024, "app: pids limit");
	ok(!s.sandbox, "app: container-type container is not a sandbox");
	is_str(s.sandbox_id, SANDBOX_ID, "app: sandbox-id");
	is_str(s.image_name, "registry.local:5000/spin/hello:v1", "app: image-name");
	is_str(s.container_name, "web", "app: container-name");
	is_str(shim_spec_group(&s, APP_ID), SANDBOX_ID, "app: grouped with its pod's sandbox");
	shim_spec_free(&s);

	/* Outside CRI: no annotations, grouped by the container's own id. */
	static const char bare[] = "{\"process\":{\"args\":[\"/\"]}}";
	is_int(shim_spec_parse(bare, strlen(bare), &s, &e), 0, "bare: parses");
	ok(!s.sandbox && !s.sandbox_id && !s.netns && !s.own_netns && !s.cgroups_path && s.n_env == 0 && !s.cwd,
	   "bare: nothing but args");
	is_str(shim_spec_group(&s, "ctr-1"), "ctr-1", "bare: grouped by its own id");
	shim_spec_free(&s);

	/* -1 is OCI's "unlimited" for memory, quota and pids. */
	static const char unlimited[] = "{\"linux\":{\"resources\":{\"memory\":{\"limit\":-1},"
					"\"cpu\":{\"quota\":-1,\"period\":100000},\"pids\":{\"limit\":-1}}}}";
	is_int(shim_spec_parse(unlimited, strlen(unlimited), &s, &e), 0, "unlimited: parses (%s)", e.message);
	ok(s.memory_limit == 0 && s.cpu_quota == 0 && s.pids_limit == 0 && s.cpu_period == 100000,
	   "unlimited: -1 is no limit");
	shim_spec_free(&s);
}

/* bad(TEXT, LEN, WANT, FIELD): parsing fails with WANT and one line naming FIELD. */
static void bad_len(const char *name, const char *text, size_t len, int want, const char *field)
{
	struct shim_spec s;
	struct sk_error e = { 0 };
	int r = shim_spec_parse(text, len, &s, &e);

	is_int(r, want, "%s: refused", name);
	is_int(e.code, want, "%s: the error carries the code", name);
	ok(strstr(e.message, field) != NULL, "%s: the message names %s (%s)", name, field, e.message);
	ok(strchr(e.message, '\n') == NULL && e.message[0] != '\0', "%s: one line", name);
	shim_spec_free(&s);
}

static void bad(const char *name, const char *text, int want, const char *field)
{
	bad_len(name, text, strlen(text), want, field);
}

static void bad_inputs(void)
{
	bad("not JSON", "{\"process\": nope}", -EINVAL, "config.json: invalid JSON at byte");
	bad("cut short", "{\"process\": {", -EINVAL, "config.json: JSON document ends early");
	bad("not an object", "[\"process\"]", -EINVAL, "config.json is not a JSON object");
	bad("args not an array", "{\"process\":{\"args\":\"/pause\"}}", -EINVAL, "process.args is not an array");
	bad("args entry null", "{\"process\":{\"args\":[\"/\",null]}}", -EINVAL, "process.args[1] is null");
	bad("env entry not a string", "{\"process\":{\"env\":[\"A=1\",2]}}", -EINVAL, "process.env is not a string");
	bad("cwd not a string", "{\"process\":{\"cwd\":7}}", -EINVAL, "process.cwd is not a string");
	bad("mounts not an array", "{\"mounts\":{}}", -EINVAL, "mounts is not an array");
	bad("mount not an object", "{\"mounts\":[\"/x\"]}", -EINVAL, "mounts[0] is not an object");
	bad("relative mount destination", "{\"mounts\":[{\"destination\":\"/proc\"},{\"destination\":\"etc/hosts\"}]}",
	    -EINVAL, "mounts[1].destination is not an absolute path");
	bad("mount without destination", "{\"mounts\":[{\"source\":\"/a\",\"type\":\"bind\"}]}", -EINVAL,
	    "mounts[0].destination");
	bad("mount source not a string", "{\"mounts\":[{\"destination\":\"/a\",\"source\":1}]}", -EINVAL,
	    "mounts[].source is not a string");
	bad("relative netns path",
	    "{\"linux\":{\"namespaces\":[{\"type\":\"pid\"},{\"type\":\"network\",\"path\":\"proc/123/ns/net\"}]}}",
	    -EINVAL, "linux.namespaces[1].path \"proc/123/ns/net\" is not an absolute path");
	bad("namespace without type", "{\"linux\":{\"namespaces\":[{\"path\":\"/proc/1/ns/net\"}]}}", -EINVAL,
	    "linux.namespaces[0] has no type");
	bad("two network namespaces",
	    "{\"linux\":{\"namespaces\":[{\"type\":\"network\",\"path\":\"/proc/1/ns/net\"},"
	    "{\"type\":\"network\",\"path\":\"/proc/2/ns/net\"}]}}",
	    -EINVAL, "linux.namespaces[1]: a second network namespace");
	bad("cgroupsPath with ..", "{\"linux\":{\"cgroupsPath\":\"/kubepods/../../etc\"}}", -EINVAL,
	    "linux.cgroupsPath \"/kubepods/../../etc\" is not a cgroup path");
	bad("cgroupsPath not a string", "{\"linux\":{\"cgroupsPath\":[]}}", -EINVAL, "linux.cgroupsPath is not a string");
	bad("memory.limit not an integer", "{\"linux\":{\"resources\":{\"memory\":{\"limit\":\"128Mi\"}}}}", -EINVAL,
	    "linux.resources.memory.limit is not an integer");
	bad("memory.limit a fraction", "{\"linux\":{\"resources\":{\"memory\":{\"limit\":1.5}}}}", -EINVAL,
	    "linux.resources.memory.limit is not an integer");
	bad("cpu.shares negative", "{\"linux\":{\"resources\":{\"cpu\":{\"shares\":-2}}}}", -EINVAL,
	    "linux.resources.cpu.shares is out of range");
	bad("pids.limit below -1", "{\"linux\":{\"resources\":{\"pids\":{\"limit\":-5}}}}", -EINVAL,
	    "linux.resources.pids.limit is out of range");
	bad("sandbox-id with '/'", "{\"annotations\":{\"" SHIM_ANN_SANDBOX_ID "\":\"../../run/x\"}}", -EINVAL,
	    "annotation io.kubernetes.cri.sandbox-id \"../../run/x\" is not a container id");
	bad("sandbox-id empty", "{\"annotations\":{\"" SHIM_ANN_SANDBOX_ID "\":\"\"}}", -EINVAL,
	    "io.kubernetes.cri.sandbox-id");
	bad("image-name not a string", "{\"annotations\":{\"" SHIM_ANN_IMAGE_NAME "\":5}}", -EINVAL,
	    "io.kubernetes.cri.image-name is not a string");

	/* SHIM_SPEC_MAX_ENV env entries pass, one more does not. */
	size_t cap = 64 + (size_t)(SHIM_SPEC_MAX_ENV + 1) * 8;
	char *t = malloc(cap);
	for (int extra = 0; extra < 2 && t; extra++) {
		size_t n = (size_t)snprintf(t, cap, "{\"process\":{\"env\":[");
		for (int i = 0; i < SHIM_SPEC_MAX_ENV + extra; i++)
			n += (size_t)snprintf(t + n, cap - n, "%s\"A=%d\"", i ? "," : "", i % 10);
		n += (size_t)snprintf(t + n, cap - n, "]}}");
		if (extra) {
			bad_len("too many env entries", t, n, -EINVAL, "process.env has 65537 entries (at most 65536)");
		} else {
			struct shim_spec s;
			is_int(shim_spec_parse(t, n, &s, NULL), 0, "%d env entries: accepted", SHIM_SPEC_MAX_ENV);
			is_int(s.n_env, SHIM_SPEC_MAX_ENV, "%d env entries: all kept", SHIM_SPEC_MAX_ENV);
			shim_spec_free(&s);
		}
	}
	free(t);

	/* Over SHIM_SPEC_MAX: refused before parsing. */
	char *big = malloc((size_t)SHIM_SPEC_MAX + 1);
	if (big) {
		memset(big, ' ', (size_t)SHIM_SPEC_MAX + 1);
		big[0] = '{';
		big[SHIM_SPEC_MAX] = '}';
		bad_len("oversized", big, (size_t)SHIM_SPEC_MAX + 1, -E2BIG, "config.json is 4194305 bytes (at most 4194304)");
		struct shim_spec s;
		is_int(shim_spec_parse(big + 1, SHIM_SPEC_MAX, &s, NULL), -EINVAL, "exactly the cap: parsed (not an object)");
		shim_spec_free(&s);
	}
	free(big);

	struct shim_spec s;
	is_int(shim_spec_parse("[]", 2, &s, NULL), -EINVAL, "a NULL error out-parameter is fine");
	shim_spec_free(&s);
	is_int(shim_spec_parse("{]", 2, &s, NULL), -EINVAL, "not JSON with a NULL error out-parameter");
	shim_spec_free(&s);
}

#define MI (1ull << 20)

static void fit_memory(void)
{
	uint64_t im = 128 * MI;
	unsigned n = 0;

	shim_spec_fit_memory(0, &im, &n);
	ok(im == 128 * MI && n == 0, "fit: no limit changes nothing");
	n = 7;
	shim_spec_fit_memory(-1, &im, &n);
	ok(im == 128 * MI && n == 7, "fit: a negative limit changes nothing");

	im = 128 * MI, n = 0;
	shim_spec_fit_memory((int64_t)(64 * MI), &im, &n);
	is_int(im, 32 * MI, "fit: 64 MiB limit, 128 MiB instances: 32 MiB each");
	ok(n >= 1, "fit: 64 MiB limit: at least one instance (%u)", n);
	ok((uint64_t)n * im <= 64 * MI, "fit: 64 MiB limit: the instances fit it");

	im = 128 * MI, n = 4;
	shim_spec_fit_memory((int64_t)(8192 * MI), &im, &n);
	ok(im == 128 * MI && n == 4, "fit: 8 GiB limit keeps 128 MiB and the cap of 4 (%u)", n);
	im = 128 * MI, n = 0;
	shim_spec_fit_memory((int64_t)(8192 * MI), &im, &n);
	is_int(n, 47, "fit: 8 GiB limit, no cap: three quarters of what the runtime leaves, in 128 MiB instances");

	im = 128 * MI, n = 0;
	shim_spec_fit_memory(100000, &im, &n);
	is_int(im, 65536, "fit: a 100 kB limit: instances stay at 64 KiB");
	is_int(n, 1, "fit: a 100 kB limit: one instance");
	im = 128 * MI, n = 3;
	shim_spec_fit_memory(1, &im, &n);
	ok(im == 65536 && n == 1, "fit: a 1-byte limit: one 64 KiB instance");

	im = 0, n = 0;
	shim_spec_fit_memory((int64_t)(64 * MI), &im, &n);
	ok(im == 32 * MI && n >= 1, "fit: no instance memory given: half the limit (%llu, %u)",
	   (unsigned long long)im, n);
}

/* The kubelet's service-link variables, and names like them that are not. */
static void test_service_links(void)
{
	static const char *const links[] = {
		"WEB_APP_SERVICE_HOST=10.96.3.7",      "WEB_APP_SERVICE_PORT=80",
		"WEB_APP_SERVICE_PORT_HTTP_APP=80",    "WEB_APP_PORT=tcp://10.96.3.7:80",
		"WEB_APP_PORT_80_TCP=tcp://10.96.3.7:80", "WEB_APP_PORT_80_TCP_PROTO=tcp",
		"WEB_APP_PORT_80_TCP_PORT=80",         "WEB_APP_PORT_80_TCP_ADDR=10.96.3.7",
		"DNS_PORT_53_UDP=udp://10.96.0.10:53", "V6_SERVICE_HOST=fd00::a",
		"V6_PORT=tcp://[fd00::a]:443",         "KUBERNETES_SERVICE_PORT_HTTPS=443",
	};
	static const char *const others[] = {
		"SPIN_HTTP_LISTEN_ADDR=0.0.0.0:80", "SPIN_VARIABLE_DB_SERVICE_HOST=10.0.0.1",
		"OTEL_SERVICE_PORT=80",             "DB_PORT=5432",
		"WEB_SERVICE_HOST=db.example",      "WEB_PORT=http://10.96.3.7:80",
		"WEB_PORT_80_TCP_PROTO=http",       "web_SERVICE_HOST=10.96.3.7",
		"_SERVICE_HOST=10.96.3.7",          "WEB_SERVICE_PORT=eighty",
		"HOME=/",                           "WEB_SERVICE_HOST",
	};
	for (size_t i = 0; i < sizeof(links) / sizeof(*links); i++)
		ok(shim_env_is_service_link(links[i]), "service link: %s", links[i]);
	for (size_t i = 0; i < sizeof(others) / sizeof(*others); i++)
		ok(!shim_env_is_service_link(others[i]), "not a service link: %s", others[i]);

	const char *text = "{\"process\":{\"env\":[\"PATH=/bin\",\"A_SERVICE_HOST=10.96.0.5\","
			   "\"SPIN_HTTP_LISTEN_ADDR=0.0.0.0:80\",\"A_PORT=tcp://10.96.0.5:80\",\"SPIN_VARIABLE_X=1\"]}}";
	struct shim_spec s;
	is_int(shim_spec_parse(text, strlen(text), &s, NULL), 0, "a spec with service links");
	is_int((int)shim_spec_drop_service_links(&s), 2, "two service links dropped");
	ok(s.n_env == 3 && strcmp(s.env[0], "PATH=/bin") == 0 && strcmp(s.env[1], "SPIN_HTTP_LISTEN_ADDR=0.0.0.0:80") == 0 &&
		   strcmp(s.env[2], "SPIN_VARIABLE_X=1") == 0 && s.env[3] == NULL,
	   "the rest kept in order");
	ok(shim_spec_env(&s, "SPIN_VARIABLE_X") && strcmp(shim_spec_env(&s, "SPIN_VARIABLE_X"), "1") == 0,
	   "and still found by name");
	shim_spec_free(&s);
}

int main(void)
{
	sandbox_spec();
	app_spec();
	bad_inputs();
	fit_memory();
	test_service_links();
	return tap_done();
}
