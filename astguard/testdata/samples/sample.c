#include <stdio.h>
#include <string.h>

/* A rectangle. */
struct rect {
	double w, h;
};

static double area(const struct rect *r) { return r->w * r->h; }

int describe(const struct rect *rs, int n, char *buf, size_t len)
{
	size_t used = 0;
	for (int i = 0; i < n; i++) {
		// one line per rectangle
		if (area(&rs[i]) > 10.0) {
			used += snprintf(buf + used, len - used, "%d: big\n", i);
		} else {
			used += snprintf(buf + used, len - used, "small '%c'\n", 'x');
		}
		if (used >= len)
			return -1;
	}
	return (int)strlen(buf);
}
