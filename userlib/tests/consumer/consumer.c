/* Built against an installed libdaxvm via pkg-config. */
#include <errno.h>
#include <stdio.h>

#include <daxvm/daxvm.h>

int main(void)
{
	daxvm_mapping *m = NULL;
	if (daxvm_map("/nonexistent", NULL, &m) != -ENOENT)
		return 1;
	printf("pkg-config consumer ok (MAP_DAXVM=%#x)\n", MAP_DAXVM);
	return 0;
}
