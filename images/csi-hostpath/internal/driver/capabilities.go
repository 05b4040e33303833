package driver

import (
	"fmt"

	"github.com/container-storage-interface/spec/lib/go/csi"
)

// controllerCapabilities are the controller RPCs the driver implements.
var controllerCapabilities = []csi.ControllerServiceCapability_RPC_Type{
	csi.ControllerServiceCapability_RPC_CREATE_DELETE_VOLUME,
	csi.ControllerServiceCapability_RPC_CREATE_DELETE_SNAPSHOT,
	csi.ControllerServiceCapability_RPC_LIST_SNAPSHOTS,
	csi.ControllerServiceCapability_RPC_CLONE_VOLUME,
	csi.ControllerServiceCapability_RPC_GET_CAPACITY,
}

// accessModes the driver accepts. Every pod using a volume runs on the one node, so the
// multi-node modes hold too. The SINGLE_NODE_*_WRITER modes are left out: claiming them
// means enforcing one publish per volume, which this driver does not track.
var accessModes = map[csi.VolumeCapability_AccessMode_Mode]bool{
	csi.VolumeCapability_AccessMode_SINGLE_NODE_WRITER:       true,
	csi.VolumeCapability_AccessMode_SINGLE_NODE_READER_ONLY:  true,
	csi.VolumeCapability_AccessMode_MULTI_NODE_READER_ONLY:   true,
	csi.VolumeCapability_AccessMode_MULTI_NODE_SINGLE_WRITER: true,
	csi.VolumeCapability_AccessMode_MULTI_NODE_MULTI_WRITER:  true,
}

// checkCapability accepts mount access (any fs type: the volume is a directory, so the
// type is not ours to choose) with a supported access mode. Block volumes are not made.
func checkCapability(c *csi.VolumeCapability) error {
	if c == nil {
		return fmt.Errorf("empty volume capability")
	}
	if c.GetBlock() != nil {
		return fmt.Errorf("block volumes are not supported")
	}
	if c.GetMount() == nil {
		return fmt.Errorf("volume capability has no access type")
	}
	mode := c.GetAccessMode().GetMode()
	if !accessModes[mode] {
		return fmt.Errorf("access mode %s is not supported", mode)
	}
	return nil
}

func checkCapabilities(caps []*csi.VolumeCapability) error {
	for _, c := range caps {
		if err := checkCapability(c); err != nil {
			return err
		}
	}
	return nil
}

// readOnlyMode is true for access modes that promise no writer.
func readOnlyMode(c *csi.VolumeCapability) bool {
	switch c.GetAccessMode().GetMode() {
	case csi.VolumeCapability_AccessMode_SINGLE_NODE_READER_ONLY,
		csi.VolumeCapability_AccessMode_MULTI_NODE_READER_ONLY:
		return true
	}
	return false
}
