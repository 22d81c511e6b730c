//! One test per catalogue case: the kernel must do what the case's expectation
//! says (outcome pass). A refuted claim is still a passing test.

mod common;

use common::{allow_skip, run_case, Summary};
use pretty_assertions::assert_eq;
use rstest::rstest;

#[rstest]
#[case::linger_zero_rst("linger.zero_rst")]
#[case::linger_timeout_blocks("linger.timeout_blocks")]
#[case::bufsize_post_connect("bufsize.post_connect")]
#[case::reuseaddr_time_wait_rebind("reuseaddr.time_wait_rebind")]
#[case::waitall_fills_buffer("waitall.fills_buffer")]
#[case::nagle_coalesce("nagle.coalesce")]
// -- sockopt.rs --
#[case::sockopt_bool_on_off("sockopt.bool_on_off")]
#[case::sockopt_accept_inherits("sockopt.accept_inherits")]
#[case::so_debug_privilege("so_debug.privilege")]
#[case::broadcast_requires_option("broadcast.requires_option")]
#[case::dontroute_bypasses_routing("dontroute.bypasses_routing")]
// -- keepalive.rs --
#[case::keepalive_default_off("keepalive.default_off")]
#[case::keepalive_default_timing("keepalive.default_timing")]
#[case::keepalive_probe_on_idle("keepalive.probe_on_idle")]
#[case::keepalive_dead_peer_etimedout("keepalive.dead_peer_etimedout")]
#[case::keepalive_rst_econnreset("keepalive.rst_econnreset")]
#[case::tcp_keepalive_option_name("tcp_keepalive.option_name")]
// -- buffers.rs (more) --
#[case::rcvbuf_set_1024("rcvbuf.set_1024")]
#[case::rcvbuf_doubling("rcvbuf.doubling")]
#[case::rcvbuf_excess_discarded("rcvbuf.excess_discarded")]
#[case::sndbuf_write_blocks_when_full("sndbuf.write_blocks_when_full")]
#[case::lowat_rcvlowat("lowat.rcvlowat")]
#[case::lowat_sndlowat("lowat.sndlowat")]
#[case::timeout_so_timeout("timeout.so_timeout")]
// -- close.rs, linger.rs (more), recv_flags.rs (more) --
#[case::waitall_fills_buffer_v6("waitall.fills_buffer@v6")]
#[case::linger_zero_rst_v6("linger.zero_rst@v6")]
#[case::linger_timeout_blocks_v6("linger.timeout_blocks@v6")]
#[case::linger_nonblocking("linger.nonblocking")]
#[case::linger_default_off("linger.default_off")]
#[case::close_unread_data_rst("close.unread_data_rst")]
#[case::shutdown_wr_blocks("shutdown.wr_blocks")]
#[case::shutdown_half_close("shutdown.half_close")]
#[case::shutdown_rd("shutdown.rd")]
#[case::waitall_short_on_eof("waitall.short_on_eof")]
#[case::waitall_timeout("waitall.timeout")]
#[case::recv_peek("recv.peek")]
#[case::recv_dontwait("recv.dontwait")]
#[case::recv_peek_dontwait_count("recv.peek_dontwait_count")]
#[case::oob_send_recv("oob.send_recv")]
#[case::oobinline_inline("oobinline.inline")]
// -- reuse.rs (more) --
#[case::reuseaddr_time_wait_rebind_v6("reuseaddr.time_wait_rebind@v6")]
#[case::reuseaddr_before_bind("reuseaddr.before_bind")]
#[case::reuseaddr_child_server_restart("reuseaddr.child_server_restart")]
#[case::reuseaddr_multihomed("reuseaddr.multihomed")]
#[case::reuseaddr_multihomed_v6("reuseaddr.multihomed@v6")]
#[case::reuseaddr_tcp_duplicate("reuseaddr.tcp_duplicate")]
#[case::reuseaddr_tcp_duplicate_v6("reuseaddr.tcp_duplicate@v6")]
#[case::reuseaddr_udp_duplicate("reuseaddr.udp_duplicate")]
// -- ip.rs, tcp.rs, nagle.rs (more) --
#[case::ip_ttl_default_then_32("ip_ttl.default_then_32")]
#[case::ip_ttl_default_then_32_v6("ip_ttl.default_then_32@v6")]
#[case::ip_ttl_bounds("ip_ttl.bounds")]
#[case::ip_ttl_bounds_v6("ip_ttl.bounds@v6")]
#[case::tcp_maxseg_before_connect("tcp_maxseg.before_connect")]
#[case::tcp_maxseg_too_large("tcp_maxseg.too_large")]
#[case::nagle_coalesce_v6("nagle.coalesce@v6")]
#[case::nagle_nodelay_segments("nagle.nodelay_segments")]
#[case::nagle_delayed_ack_stall("nagle.delayed_ack_stall")]
// -- multicast.rs --
#[case::mcast_class_d_only("mcast.class_d_only")]
#[case::mcast_join_receive("mcast.join_receive")]
#[case::mcast_sender_needs_no_join("mcast.sender_needs_no_join")]
#[case::mcast_nonmember_no_receive("mcast.nonmember_no_receive")]
#[case::mcast_drop_membership("mcast.drop_membership")]
#[case::mcast_loop_default("mcast.loop_default")]
#[case::mcast_ttl("mcast.ttl")]
#[case::mcast_if_selects_interface("mcast.if_selects_interface")]
#[case::mcast_igmp_on_join("mcast.igmp_on_join")]
#[case::mcast_mac_mapping("mcast.mac_mapping")]
#[case::mcast_reuseaddr_receivers("mcast.reuseaddr_receivers")]
#[case::mcast_bind_group_addr("mcast.bind_group_addr")]
#[case::mcast_multicast_all("mcast.multicast_all")]
#[case::mcast_chat("mcast.chat")]

fn kernel_behaves_as_expected(#[case] id: &str) {
    let r = run_case(id, &[]);
    if allow_skip(&r) {
        return;
    }
    assert_eq!(Summary::passed(id), Summary::of(&r));
}

/// The list above must name every registered case, so none goes untested.
#[test]
fn every_registered_case_has_a_test() {
    let src = include_str!("cases.rs");
    let missing: Vec<&str> = sockspec::cases::all()
        .iter()
        .map(|c| c.id)
        .filter(|id| !src.contains(&format!("(\"{id}\")")))
        .collect();
    assert_eq!(Vec::<&str>::new(), missing);
}
