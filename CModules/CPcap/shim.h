#ifndef CAMHOST_CPCAP_SHIM_H
#define CAMHOST_CPCAP_SHIM_H
#include <pcap/pcap.h>
#endif
