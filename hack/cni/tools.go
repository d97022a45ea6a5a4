//go:build tools

// Package tools pins the CNI plugins built from this module so `go mod tidy` keeps them:
// ovs and static for the data-plane tests, bridge, host-local, loopback and portmap for the node.
package tools

import (
	_ "github.com/containernetworking/plugins/plugins/ipam/host-local"
	_ "github.com/containernetworking/plugins/plugins/ipam/static"
	_ "github.com/containernetworking/plugins/plugins/main/bridge"
	_ "github.com/containernetworking/plugins/plugins/main/loopback"
	_ "github.com/containernetworking/plugins/plugins/meta/portmap"
	_ "github.com/k8snetworkplumbingwg/ovs-cni/cmd/plugin"
)
