"""What fetch and pin report, and the chains add chooses pins from."""
