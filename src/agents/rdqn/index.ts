/** Recurrent Q-learning: the recurrent DQN agent and its LSTM Q-network. */
export * from './rdqn.js';
export * from './recurrent-q-network.js';
