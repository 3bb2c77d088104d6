inline constexpr int app_config_marker = 2;
