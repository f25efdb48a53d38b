/* spin-bridge: serve one Spin HTTP app on wasmtime (see bridge.h). */
#include "shim-bridge/spin-bridge/bridge.h"

int main(int argc, char *argv[])
{
	return bridge_main(argc, argv);
}
