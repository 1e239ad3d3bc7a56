#include <cstdio>
int main() { std::puts("quantflow (under construction)"); return 0; }
