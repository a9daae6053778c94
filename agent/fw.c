/* The firewall backends, chosen by name. */
#include "autoconfig.h"

#include "config.h"
#include "fw.h"

const struct fw_backend *fw_backend_for(int backend)
{
	switch (backend) {
	case CONFIG_FW_NFTABLES:
		return &fw_nftables;
	case CONFIG_FW_UFW:
		return &fw_ufw;
	case CONFIG_FW_NONE:
		return &fw_none;
	default:
		return fw_ufw.active() ? &fw_ufw : &fw_nftables;
	}
}
