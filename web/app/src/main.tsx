import { render } from 'preact';
import { App } from './components/App';
import { initTheme } from './theme';
import './styles/base.css';
import './styles/layout.css';
import './styles/messages.css';

initTheme();
render(<App />, document.getElementById('root')!);
