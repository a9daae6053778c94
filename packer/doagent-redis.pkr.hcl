# The doagent Redis snapshot: a DigitalOcean droplet from a stock Ubuntu image,
# provisioned by packer/scripts/ and saved as a snapshot that configures Redis
# from each new droplet's user data.
#
#   make dist
#   packer init packer/init/       # modern Packer: installs the DigitalOcean plugin
#   packer build -var tarball=doagent-0.1.0.tar.xz packer/doagent-redis.pkr.hcl
#
# The token comes from DIGITALOCEAN_TOKEN or DIGITALOCEAN_ACCESS_TOKEN (or
# -var token=...; never put it in a file that is committed). Only options that
# Debian's packer 1.6.6 also understands are used here, so that CI can run
# "packer validate" on this file; required_plugins lives in packer/init/.

variable "token" {
  type        = string
  default     = env("DIGITALOCEAN_TOKEN")
  sensitive   = true
  description = "DigitalOcean API token (default: $DIGITALOCEAN_TOKEN, then $DIGITALOCEAN_ACCESS_TOKEN)"
}

variable "access_token" {
  type        = string
  default     = env("DIGITALOCEAN_ACCESS_TOKEN")
  sensitive   = true
  description = "The token when DIGITALOCEAN_TOKEN is not set"
}

variable "tarball" {
  type        = string
  description = "The doagent release tarball that \"make dist\" wrote (doagent-VERSION.tar.xz)"
}

variable "base_image" {
  type        = string
  default     = "ubuntu-24-04-x64"
  description = "The image slug the build droplet starts from"
}

variable "region" {
  type        = string
  default     = "nyc3"
  description = "Where the build droplet runs"
}

variable "size" {
  type        = string
  default     = "s-1vcpu-1gb"
  description = "The build droplet's size; the snapshot fits any size with at least its disk"
}

variable "snapshot_name" {
  type        = string
  default     = ""
  description = "The snapshot's name (default: doagent-redis-YYYYMMDD-hhmm)"
}

variable "snapshot_regions" {
  type        = list(string)
  default     = []
  description = "Other regions to copy the snapshot to (it is always in var.region)"
}

locals {
  token    = var.token != "" ? var.token : var.access_token
  stamp    = formatdate("YYYYMMDD-hhmm", timestamp())
  snapshot = var.snapshot_name != "" ? var.snapshot_name : "doagent-redis-${local.stamp}"

  # Where the file provisioner puts the tarball, and everything the scripts are
  # told. tests/container/packer.sh reads this list and runs packer/scripts/ with
  # it: literal strings only.
  script_env = [
    "DEBIAN_FRONTEND=noninteractive",
    "NEEDRESTART_SUSPEND=1",
    "DOAGENT_TARBALL=/tmp/doagent.tar.xz",
    "DOAGENT_PURGE_BUILD_DEPS=yes",
  ]
}

source "digitalocean" "redis" {
  api_token        = local.token
  image            = var.base_image
  region           = var.region
  size             = var.size
  ssh_username     = "root"
  droplet_name     = "doagent-build-${local.stamp}"
  snapshot_name    = local.snapshot
  snapshot_regions = var.snapshot_regions
  tags             = ["doagent-build"]
  # No do-agent (Monitoring) on the build droplet. The droplet agent comes with
  # the droplet all the same (DigitalOcean installs it by default); 90-cleanup.sh
  # purges both, as the Marketplace image check fails an image with /opt/digitalocean.
  monitoring = false
  ipv6       = false
}

build {
  sources = ["source.digitalocean.redis"]

  # The scripts run in this order, as root, with local.script_env; the test
  # (tests/container/packer.sh) runs the same list the same way.
  provisioner "shell" {
    environment_vars = local.script_env
    scripts = [
      "${path.root}/scripts/00-wait-cloud-init.sh",
    ]
  }

  provisioner "file" {
    source      = var.tarball
    destination = "/tmp/doagent.tar.xz"
  }

  provisioner "shell" {
    environment_vars = local.script_env
    scripts = [
      "${path.root}/scripts/10-packages.sh",
      "${path.root}/scripts/20-doagent.sh",
      "${path.root}/scripts/90-cleanup.sh",
    ]
  }
}
