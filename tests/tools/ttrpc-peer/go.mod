module spinkube-c.local/ttrpc-peer

go 1.25.0

require (
	github.com/containerd/containerd/api v1.12.0
	github.com/containerd/ttrpc v1.2.9
)
