inline constexpr int app_heap_marker = 1;
