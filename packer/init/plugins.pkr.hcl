# For Packer 1.7 and later: "packer init packer/init/" installs the DigitalOcean
# plugin that packer/doagent-redis.pkr.hcl uses. (Debian's packer 1.6.6 has the
# builder built in and does not read this block, which is why it has a directory
# of its own.)
packer {
  required_version = ">= 1.7.0"
  required_plugins {
    digitalocean = {
      version = ">= 1.4.0"
      source  = "github.com/digitalocean/digitalocean"
    }
  }
}
