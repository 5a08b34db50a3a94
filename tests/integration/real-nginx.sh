# shellcheck shell=bash
# nginx for t-real-nginx*.sh, sourced after real-lib.sh.

NGINX_BODY="hello from nginx $$"

# real_nginx_conf LISTEN: a config in $T/ng for a master and one worker
# (user www-data) serving $T/www on LISTEN (an address or unix:PATH),
# keep-alive connections kept 10 minutes; everything it writes is in $T.
real_nginx_conf()
{
	chmod 755 "$T"
	mkdir -p "$T/ng/tmp" "$T/www"
	printf '%s' "$NGINX_BODY" >"$T/www/f.txt"
	chmod 644 "$T/www/f.txt"
	cat >"$T/ng/nginx.conf" <<EOF2
daemon off;
master_process on;
worker_processes 1;
user www-data;
pid $T/ng/nginx.pid;
error_log stderr;
events { worker_connections 64; }
http {
	access_log off;
	client_body_temp_path $T/ng/tmp/body;
	proxy_temp_path $T/ng/tmp/proxy;
	fastcgi_temp_path $T/ng/tmp/fastcgi;
	uwsgi_temp_path $T/ng/tmp/uwsgi;
	scgi_temp_path $T/ng/tmp/scgi;
	keepalive_timeout 600s;
	keepalive_requests 100000000;
	default_type text/plain;
	server {
		listen $1;
		root $T/www;
	}
}
EOF2
}

# real_nginx_check_users PID: below PID, one nginx master as root and one
# worker as www-data.
real_nginx_check_users()
{
	local p comm u master=0 worker=0
	for p in $(vx_tree_pids "$1"); do
		comm=$(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null)
		u=$(awk '/^Uid:/ { print $2 }' "/proc/$p/status" 2>/dev/null)
		case $comm in
		"nginx: master"*) [ "$u" = 0 ] && master=$((master + 1)) ;;
		"nginx: worker"*) [ "$u" = "$(id -u www-data)" ] && worker=$((worker + 1)) ;;
		esac
	done
	[ "$master" = 1 ] && [ "$worker" = 1 ] ||
		fail "expected an nginx master as root and a worker as www-data below $1"
}
