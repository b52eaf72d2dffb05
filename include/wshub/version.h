/* version — the release both programs print for --version. */
#ifndef WSHUB_VERSION_H
#define WSHUB_VERSION_H

#define WSHUB_VERSION "0.1.0"

#endif
