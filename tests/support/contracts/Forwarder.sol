// SPDX-License-Identifier: MIT
// Sends the native coin on from inside a contract: an internal transfer that only traces show.
pragma solidity 0.8.26;

contract Forwarder {
    /// Sends all of msg.value to `to` with a low-level call.
    function forward(address payable to) external payable {
        _send(to, msg.value);
    }

    /// Sends half of msg.value to `a` and the rest to `b` (two internal transfers in one transaction).
    function forwardSplit(address payable a, address payable b) external payable {
        uint256 half = msg.value / 2;
        _send(a, half);
        _send(b, msg.value - half);
    }

    /// Forwards msg.value to `to`, then reverts: the internal transfer is undone and must not count.
    function forwardThenRevert(address payable to) external payable {
        _send(to, msg.value);
        revert("Forwarder: reverted after forwarding");
    }

    function _send(address payable to, uint256 amount) private {
        (bool ok, ) = to.call{value: amount}("");
        require(ok, "Forwarder: call failed");
    }
}
